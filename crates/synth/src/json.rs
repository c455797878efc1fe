//! JSON text written directly, without building a tree: the generator's hot path. The `j!`
//! macro reads like `serde_json::json!` and writes straight into one `String`; `"key"?: x`
//! writes the entry only when `x` is `Some`. Generating through `serde_json::Value` spent
//! most of its time hashing map keys and deep-copying interpolated values.

use std::fmt::Write;

/// A piece of JSON text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Json(pub String);

impl Json {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Values that write themselves as JSON.
pub trait ToJson {
    fn write_json(&self, out: &mut String);
}

impl ToJson for Json {
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        escape(self, out);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        escape(self, out);
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write_json(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
integers!(u8, u16, u32, u64, usize, i32, i64);

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.write_json(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

/// A number with exactly `decimals` places, as labs report them.
pub fn decimal(value: f64, decimals: u8) -> Json {
    let mut s = format!("{value:.*}", decimals as usize);
    if s == "-0" || s.starts_with("-0.") && s[3..].bytes().all(|b| b == b'0') {
        s.remove(0);
    }
    Json(s)
}

/// Writes `s` as a JSON string.
pub fn escape(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Writes `"key":`, after a comma unless it is the first entry.
pub fn key(out: &mut String, first: &mut bool, key: &str) {
    if !std::mem::take(first) {
        out.push(',');
    }
    escape(key, out);
    out.push(':');
}

/// Writes a comma unless this is the first element.
pub fn comma(out: &mut String, first: &mut bool) {
    if !std::mem::take(first) {
        out.push(',');
    }
}

/// Builds JSON text: `j!({"a": 1, "b": [x, {"c": y}], "d"?: maybe})`.
#[macro_export]
macro_rules! j {
    ({ $($body:tt)* }) => {{
        let mut out = String::with_capacity(128);
        $crate::j!(@value out { $($body)* });
        $crate::json::Json(out)
    }};
    ([ $($body:tt)* ]) => {{
        let mut out = String::with_capacity(64);
        $crate::j!(@value out [ $($body)* ]);
        $crate::json::Json(out)
    }};
    (@value $out:ident { $($body:tt)* }) => {{
        $out.push('{');
        #[allow(unused_mut)]
        let mut first = true;
        $crate::j!(@obj $out first $($body)*);
        let _ = first;
        $out.push('}');
    }};
    (@value $out:ident [ $($body:tt)* ]) => {{
        $out.push('[');
        #[allow(unused_mut)]
        let mut first = true;
        $crate::j!(@arr $out first $($body)*);
        let _ = first;
        $out.push(']');
    }};
    (@value $out:ident $v:expr) => {
        $crate::json::ToJson::write_json(&$v, &mut $out)
    };
    (@obj $out:ident $first:ident) => {};
    (@obj $out:ident $first:ident $k:literal ?: $v:expr $(, $($rest:tt)*)?) => {
        if let Some(v) = $v {
            $crate::json::key(&mut $out, &mut $first, $k);
            $crate::json::ToJson::write_json(&v, &mut $out);
        }
        $crate::j!(@obj $out $first $($($rest)*)?);
    };
    (@obj $out:ident $first:ident $k:literal : { $($inner:tt)* } $(, $($rest:tt)*)?) => {
        $crate::json::key(&mut $out, &mut $first, $k);
        $crate::j!(@value $out { $($inner)* });
        $crate::j!(@obj $out $first $($($rest)*)?);
    };
    (@obj $out:ident $first:ident $k:literal : [ $($inner:tt)* ] $(, $($rest:tt)*)?) => {
        $crate::json::key(&mut $out, &mut $first, $k);
        $crate::j!(@value $out [ $($inner)* ]);
        $crate::j!(@obj $out $first $($($rest)*)?);
    };
    (@obj $out:ident $first:ident $k:literal : $v:expr $(, $($rest:tt)*)?) => {
        $crate::json::key(&mut $out, &mut $first, $k);
        $crate::json::ToJson::write_json(&$v, &mut $out);
        $crate::j!(@obj $out $first $($($rest)*)?);
    };
    (@arr $out:ident $first:ident) => {};
    (@arr $out:ident $first:ident { $($inner:tt)* } $(, $($rest:tt)*)?) => {
        $crate::json::comma(&mut $out, &mut $first);
        $crate::j!(@value $out { $($inner)* });
        $crate::j!(@arr $out $first $($($rest)*)?);
    };
    (@arr $out:ident $first:ident [ $($inner:tt)* ] $(, $($rest:tt)*)?) => {
        $crate::json::comma(&mut $out, &mut $first);
        $crate::j!(@value $out [ $($inner)* ]);
        $crate::j!(@arr $out $first $($($rest)*)?);
    };
    (@arr $out:ident $first:ident $v:expr $(, $($rest:tt)*)?) => {
        $crate::json::comma(&mut $out, &mut $first);
        $crate::json::ToJson::write_json(&$v, &mut $out);
        $crate::j!(@arr $out $first $($($rest)*)?);
    };
}

#[cfg(test)]
mod tests {
    use crate::json::{Json, decimal};

    #[test]
    fn writes_what_serde_json_reads() {
        let name = "王\"小\\明\n";
        let none: Option<&str> = None;
        let inner = crate::j!({"x": 1});
        let list = vec![crate::j!({"y": true}), crate::j!([])];
        let got = crate::j!({
            "a": name,
            "b": [1, "two", {"c": 3u8}, [ ]],
            "d"?: none,
            "e"?: Some(7u32),
            "f": inner,
            "g": list,
            "h": decimal(5.4321, 2),
            "i": decimal(-0.001, 1),
            "j": "\u{1}",
        });
        let v: serde_json::Value = serde_json::from_str(got.as_str()).expect("valid JSON");
        assert_eq!(
            v.to_string(),
            r#"{"a":"王\"小\\明\n","b":[1,"two",{"c":3},[]],"e":7,"f":{"x":1},"g":[{"y":true},[]],"h":5.43,"i":0.0,"j":"\u0001"}"#
        );
        assert_eq!(Json::default().as_str(), "");
    }
}
