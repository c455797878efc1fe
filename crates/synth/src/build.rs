//! Small builders for the FHIR JSON the generator writes: codings, references, times,
//! opaque ids, DICOM UIDs and base64. Times are Beijing local time (+08:00).

use crate::date::Date;
use crate::j;
use crate::json::Json;

/// A generated resource: its type and id (for Bundle entries and file names) and its JSON.
pub struct Resource {
    pub kind: &'static str,
    pub id: String,
    pub json: Json,
}

impl Resource {
    pub fn new(kind: &'static str, id: &str, json: Json) -> Resource {
        Resource {
            kind,
            id: id.to_string(),
            json,
        }
    }
}

pub fn coding(system: &str, code: &str, display: &str) -> Json {
    j!({"system": system, "code": code, "display": display})
}

pub fn concept(codings: &[Json], text: &str) -> Json {
    j!({"coding": codings, "text": text})
}

pub fn reference(resource_type: &str, id: &str) -> Json {
    let mut out = String::with_capacity(32 + id.len());
    out.push_str("{\"reference\":");
    crate::json::escape(&format!("{resource_type}/{id}"), &mut out);
    out.push('}');
    Json(out)
}

/// `YYYY-MM-DDThh:mm:00+08:00` at `minute` minutes after midnight.
pub fn datetime(day: Date, minute: u32) -> String {
    let minute = minute.min(24 * 60 - 1);
    format!("{day}T{:02}:{:02}:00+08:00", minute / 60, minute % 60)
}

/// A 64-bit mix (splitmix64's finalizer) for deriving opaque ids.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An opaque id for item `k` of `person` at a hospital: nothing in it reveals the person,
/// so a patient index cannot cheat by reading ids. 80 bits: no collisions at ten million
/// people.
pub fn opaque_id(hospital: &str, seed: u64, person: u64, k: u64) -> String {
    // The hospital is part of the key: one person's ids at two hospitals share nothing.
    let h = hospital.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    });
    let a = mix(seed ^ mix(person.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k) ^ mix(h));
    let b = mix(a ^ k.wrapping_add(0x632B_E59B_D9B4_E019));
    format!("{hospital}-{a:016x}{:04x}", b & 0xffff)
}

/// A DICOM UID under the UUID-derived root `2.25`.
pub fn dicom_uid(a: u64, b: u64) -> String {
    format!("2.25.{}", ((a as u128) << 64 | b as u128) >> 1)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
