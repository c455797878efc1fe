#!/usr/bin/env python3
"""End-to-end check of a Yilian server with the real Python FHIR client (`fhirclient`).

Usage: fhirclient_e2e.py BASE_URL TOKEN

TOKEN is a bearer token (`yilian admin token --data DIR` prints one): every endpoint but
/metadata needs it, and fhirclient sends it on its HTTP session.

Against a fresh store: reads the CapabilityStatement through fhirclient's models, creates
25 patients of one family and 3 of another, reads one back, then searches the family with
_count=10 and follows every next link, checking that each created patient is seen exactly
once. Prints "fhirclient e2e: ok" and exits 0 on success; exits 1 with a message on any
failure. All data is synthetic.
"""

import sys
import uuid

from fhirclient import client
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.humanname import HumanName
from fhirclient.models.identifier import Identifier
from fhirclient.models.patient import Patient

SYSTEM = "urn:yilian:fhirclient-e2e"
COUNT = 25
OTHERS = 3
PAGE = 10


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def new_patient(family, n):
    p = Patient()
    name = HumanName()
    name.family = family
    name.given = [f"Given{n}"]
    p.name = [name]
    ident = Identifier()
    ident.system = SYSTEM
    ident.value = f"{family}-{n}"
    p.identifier = [ident]
    p.gender = "female" if n % 2 else "male"
    p.birthDate = FHIRDate(f"19{50 + n % 40}-0{1 + n % 9}-1{n % 10}")
    return p


def main(base, token):
    smart = client.FHIRClient(settings={"app_id": "yilian-e2e", "api_base": base})
    smart.server.session.headers["Authorization"] = f"Bearer {token}"
    # fhirclient parses /metadata with its CapabilityStatement model, which rejects
    # anything that is not valid FHIR.
    smart.prepare()
    capability = smart.server.capabilityStatement
    check(capability is not None and capability.fhirVersion.startswith("4.0"),
          f"unexpected CapabilityStatement: {capability and capability.as_json()}")

    family = "Fhirclient" + uuid.uuid4().hex[:8]
    created = {}
    for n in range(COUNT):
        p = new_patient(family, n)
        answer = p.create(smart.server)
        check(isinstance(answer, dict) and answer.get("id"), f"create returned {answer!r}")
        check(answer["resourceType"] == "Patient", f"create returned {answer!r}")
        created[answer["id"]] = n
    for n in range(OTHERS):
        answer = new_patient("Someoneelse", n).create(smart.server)
        check(answer and answer.get("id"), f"create returned {answer!r}")

    some_id, n = next(iter(created.items()))
    read = Patient.read(some_id, smart.server)
    check(read.id == some_id, f"read Patient/{some_id} returned id {read.id}")
    check(read.name[0].family == family, f"read back family {read.name[0].family!r}")
    check(read.name[0].given == [f"Given{n}"], f"read back given {read.name[0].given!r}")
    check(read.identifier[0].value == f"{family}-{n}", f"read back identifier {read.identifier[0].value!r}")
    check(read.birthDate.isostring == new_patient(family, n).birthDate.isostring,
          f"read back birthDate {read.birthDate.isostring!r}")
    check(read.meta is not None and read.meta.versionId == "1", "read back without meta.versionId 1")

    search = Patient.where(struct={"family": family, "_count": str(PAGE)})
    pages = list(search.perform_iter(smart.server))
    sizes = [len(b.entry or []) for b in pages]
    check(sizes == [10, 10, 5], f"page sizes {sizes}, expected [10, 10, 5]")

    seen = {}
    for p in Patient.where(struct={"family": family, "_count": str(PAGE)}).perform_resources_iter(smart.server):
        check(isinstance(p, Patient), f"search returned a {type(p).__name__}")
        check(p.name[0].family == family, f"search for {family} returned family {p.name[0].family!r}")
        seen[p.id] = seen.get(p.id, 0) + 1
    twice = sorted(i for i, k in seen.items() if k > 1)
    missing = sorted(set(created) - set(seen))
    strangers = sorted(set(seen) - set(created))
    check(not twice, f"seen more than once: {twice}")
    check(not missing, f"never seen: {missing}")
    check(not strangers, f"not created here: {strangers}")
    print(f"fhirclient e2e: ok ({len(created)} created, {len(pages)} pages)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: fhirclient_e2e.py BASE_URL TOKEN")
    try:
        main(sys.argv[1], sys.argv[2])
    except Failure as e:
        sys.exit(f"fhirclient e2e: FAILED: {e}")
    except Exception as e:  # an HTTP error or a model that did not parse is a failure too
        sys.exit(f"fhirclient e2e: FAILED: {type(e).__name__}: {e}")
