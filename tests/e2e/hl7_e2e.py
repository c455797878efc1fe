"""A real HL7 v2 sender: python-hl7's MLLPClient sends messages to `yilian serve --mllp`
and reads each acknowledgement with python-hl7's parser. Prints one line per message:
the acknowledgement code, the ERR location and code when there is one. Usage:
hl7_e2e.py HOST PORT"""

import sys

import hl7
from hl7.client import MLLPClient

host, port = sys.argv[1], int(sys.argv[2])


def msg(control, kind, body, facility="H02", version="2.4", charset=""):
    header = (
        f"MSH|^~\\&|HIS|{facility}|YILIAN|REGION|20261201083000||{kind}|{control}|P|{version}"
        + (f"||||||{charset}" if charset else "")
    )
    return "\r".join([header] + body) + "\r"


PID = "PID|1||H02-900^^^H02^MR~110101199003070015^^^^NI||张^伟||19900307|M|||朝阳路1号^^北京^^100020"
PV1 = "PV1|1|O|内科门诊||||||||||||||||V900|||||||||||||||||||||||||20261201080000"
ORU = [
    PID,
    "OBR|1|ORD900|F900|58410-2^血常规^LN|||20261201080500|||||||||||||||20261201082000|||F",
    "OBX|1|NM|6690-2^白细胞计数^LN||11.2|10*9/L|3.5-9.5|H|||F",
    "OBX|2|NM|L-HGB^血红蛋白^99H02||135|g/L|130-175|N|||F",
]

cases = [
    ("A04 registration", msg("M1", "ADT^A04^ADT_A01", [PID, PV1])),
    ("ORU result", msg("M2", "ORU^R01^ORU_R01", ORU)),
    ("ORU resent", msg("M2", "ORU^R01^ORU_R01", ORU)),
    ("no record number", msg("M3", "ADT^A08^ADT_A01", ["PID|1||^^^H02^MR||王^芳||19850101|F"])),
    ("not a number", msg("M4", "ORU^R01^ORU_R01", [PID, ORU[1], "OBX|1|NM|6690-2^白细胞计数^LN||high|10*9/L"])),
    ("unknown facility", msg("M5", "ADT^A04^ADT_A01", [PID, PV1], facility="H99")),
    ("version 2.2", msg("M6", "ADT^A04^ADT_A01", [PID, PV1], version="2.2")),
    ("unsupported event", msg("M7", "ADT^A99^ADT_A01", [PID, PV1])),
]

acks = {}
with MLLPClient(host, port) as client:
    for name, text in cases:
        raw = client.send_message(text)
        acks[name] = raw
with MLLPClient(host, port, encoding="gb18030") as client:
    gb = msg(
        "M8",
        "ADT^A04^ADT_A01",
        ["PID|1||H02-901^^^H02^MR||欧阳^娜娜||19920315|F", "PV1|1|O|妇科门诊||||||||||||||||V901"],
        charset="GB18030",
    )
    acks["GB18030 registration"] = client.send_message(gb)

for name, raw in acks.items():
    encoding = "gb18030" if name.startswith("GB18030") else "utf-8"
    text = raw.strip(b"\x0b\x1c\r").decode(encoding)
    ack = hl7.parse(text)
    code = str(ack.segment("MSA")[1])
    answered = str(ack.segment("MSA")[2])
    line = f"{name}: {code} to {answered}"
    try:
        err = ack.segment("ERR")
        line += f" ERR {err[2]} {err[3][0][0]}"
    except KeyError:
        pass
    print(line)
print("resent ORU got the same acknowledgement:", acks["ORU result"] == acks["ORU resent"])
print("hl7 e2e: ok")
