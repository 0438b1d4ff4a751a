//! [`PolicyClaims`]: the claims the verification policy reads, parsed without building a map of
//! all of them (the whole map is built only if the application asks for it).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// `iss`, `aud`, `sub`, `exp`, `nbf` and `iat` of a token's claims, read as `serde_json` would
/// read them into a map (keys unescaped, the last of duplicate keys wins, the payload must be a
/// JSON object); every other claim is checked to be JSON and skipped. Parsing a Passage token's
/// claims this way costs less than half of a map of them, and a cached token keeps no map.
/// The text claims borrow from the payload when they need no unescaping.
#[derive(Debug, Default)]
pub(crate) struct PolicyClaims<'a> {
    pub(crate) iss: Option<Claim<'a>>,
    pub(crate) aud: Option<Claim<'a>>,
    pub(crate) sub: Option<Claim<'a>>,
    pub(crate) exp: Option<Value>,
    pub(crate) nbf: Option<Value>,
    pub(crate) iat: Option<Value>,
}

/// A claim the policy compares as text: what a `serde_json::Value` would answer to `as_str`
/// and, for an array, to looking for a string among its elements; nothing else is kept.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim<'a> {
    /// A JSON string.
    String(Cow<'a, str>),
    /// A JSON array: its elements that are strings, in order.
    Strings(Vec<Cow<'a, str>>),
    /// Any other JSON value.
    Other,
}

impl Claim<'_> {
    /// The claim when it is a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// Whether the claim is `value`, or an array with `value` among its elements (how `aud`
    /// names an audience).
    pub(crate) fn names(&self, value: &str) -> bool {
        match self {
            Self::String(text) => text == value,
            Self::Strings(texts) => texts.iter().any(|text| text == value),
            Self::Other => false,
        }
    }
}

/// How [`ClaimVisitor`] reads a value. Every mode reads it the way `serde_json::Value` would
/// (nesting depth, string escapes, number range), so that a payload no map of claims can read
/// does not verify (`claims_map()` reads it so; `IgnoredAny` would skip without those checks).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A claim's value: a string, or an array's strings.
    Claim,
    /// An element of a claim's array: a string; a nested array is `Other`.
    Element,
    /// Anything else: checked and dropped without allocating (`Other`).
    Check,
}

/// Reads one JSON value in a [`Mode`].
#[derive(Clone, Copy)]
struct ClaimVisitor {
    mode: Mode,
}

impl ClaimVisitor {
    const CLAIM: Self = Self { mode: Mode::Claim };
    const CHECK: Self = Self { mode: Mode::Check };

    fn text<'de>(self, text: impl FnOnce() -> Cow<'de, str>) -> Claim<'de> {
        match self.mode {
            Mode::Check => Claim::Other,
            Mode::Claim | Mode::Element => Claim::String(text()),
        }
    }
}

impl<'de> Visitor<'de> for ClaimVisitor {
    type Value = Claim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Claim<'de>, E> {
        Ok(self.text(|| Cow::Borrowed(text)))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Claim<'de>, E> {
        Ok(self.text(|| Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Claim<'de>, E> {
        Ok(self.text(|| Cow::Owned(text)))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Claim<'de>, A::Error> {
        if self.mode != Mode::Claim {
            while seq.next_element_seed(Self::CHECK)?.is_some() {}
            return Ok(Claim::Other);
        }
        let mut texts = Vec::new();
        let element = Self {
            mode: Mode::Element,
        };
        while let Some(element) = seq.next_element_seed(element)? {
            if let Claim::String(text) = element {
                texts.push(text);
            }
        }
        Ok(Claim::Strings(texts))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claim<'de>, A::Error> {
        while map.next_entry_seed(Self::CHECK, Self::CHECK)?.is_some() {}
        Ok(Claim::Other)
    }
}

impl<'de> DeserializeSeed<'de> for ClaimVisitor {
    type Value = Claim<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claim<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A claim's name: one the policy reads, or another.
enum Name {
    Iss,
    Aud,
    Sub,
    Exp,
    Nbf,
    Iat,
    Other,
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Name, E> {
                Ok(match name {
                    "iss" => Name::Iss,
                    "aud" => Name::Aud,
                    "sub" => Name::Sub,
                    "exp" => Name::Exp,
                    "nbf" => Name::Nbf,
                    "iat" => Name::Iat,
                    _ => Name::Other,
                })
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

impl<'de> Deserialize<'de> for PolicyClaims<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClaimsVisitor;
        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = PolicyClaims<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<PolicyClaims<'de>, A::Error> {
                let mut claims = PolicyClaims::default();
                while let Some(name) = map.next_key::<Name>()? {
                    match name {
                        Name::Iss => claims.iss = Some(map.next_value_seed(ClaimVisitor::CLAIM)?),
                        Name::Aud => claims.aud = Some(map.next_value_seed(ClaimVisitor::CLAIM)?),
                        Name::Sub => claims.sub = Some(map.next_value_seed(ClaimVisitor::CLAIM)?),
                        Name::Exp => claims.exp = Some(map.next_value()?),
                        Name::Nbf => claims.nbf = Some(map.next_value()?),
                        Name::Iat => claims.iat = Some(map.next_value()?),
                        Name::Other => {
                            map.next_value_seed(ClaimVisitor::CHECK)?;
                        }
                    }
                }
                Ok(claims)
            }
        }
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the policy would read from a map of the claims (the verifier's checks before
    /// `PolicyClaims`).
    fn text_of(value: Option<&Value>) -> Option<&str> {
        value.and_then(Value::as_str)
    }

    fn names_in_map(value: Option<&Value>, name: &str) -> bool {
        match value {
            Some(Value::String(text)) => text == name,
            Some(Value::Array(values)) => values.iter().any(|v| v.as_str() == Some(name)),
            _ => false,
        }
    }

    #[test]
    fn reads_the_policy_claims_as_a_map_would() {
        for payload in [
            r#"{"iss":"a","aud":["x","y"],"sub":"u","exp":10,"nbf":1,"iat":2,"other":{"deep":[1,2]}}"#,
            r#"{"\u0065xp":5,"exp":6,"iss":null,"aud":"x"}"#,
            r#"{"iss":"a\u0062","sub":"","aud":[1,["x"],{"x":"x"},null,"y","x\n"],"exp":1.5}"#,
            r#"{"iss":["a"],"sub":{"u":1},"aud":{"x":"x"},"iss":true,"sub":"v","aud":[]}"#,
            r#"{"iss":7,"sub":["u"],"aud":"x\ty","nbf":"1","iat":null}"#,
            r#"{}"#,
        ] {
            let map: serde_json::Map<String, Value> = serde_json::from_str(payload).unwrap();
            let claims: PolicyClaims<'_> = serde_json::from_str(payload).unwrap();
            for (name, claim) in [
                ("iss", &claims.iss),
                ("aud", &claims.aud),
                ("sub", &claims.sub),
            ] {
                assert_eq!(map.contains_key(name), claim.is_some(), "{payload}: {name}");
                assert_eq!(
                    text_of(map.get(name)),
                    claim.as_ref().and_then(Claim::as_str),
                    "{payload}: {name}"
                );
                for audience in ["x", "y", "x\n", "x\ty", "", "z"] {
                    assert_eq!(
                        names_in_map(map.get(name), audience),
                        claim.as_ref().is_some_and(|c| c.names(audience)),
                        "{payload}: {name} names {audience:?}"
                    );
                }
            }
            for (name, value) in [
                ("exp", &claims.exp),
                ("nbf", &claims.nbf),
                ("iat", &claims.iat),
            ] {
                assert_eq!(map.get(name), value.as_ref(), "{payload}: {name}");
            }
        }
        let deep = format!(r#"{{"aud":["x",{}1{}]}}"#, "[".repeat(200), "]".repeat(200));
        let deep_other = format!(r#"{{"x":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
        for refused in [
            "[1,2]",
            "null",
            "5",
            r#""exp""#,
            r#"{"exp":}"#,
            r#"{"a":1"#,
            r#"{"aud":[1,}"#,
            // What a map of claims refuses anywhere in the payload: nesting beyond serde_json's
            // limit, lone surrogates, numbers beyond an f64.
            &deep,
            &deep_other,
            r#"{"sub":{"\ud800":1}}"#,
            r#"{"aud":[["\udc00"]]}"#,
            r#"{"other":"\ud800"}"#,
            r#"{"iss":{"a":1e400}}"#,
            r#"{"aud":[[1e400]]}"#,
            r#"{"other":[1e400]}"#,
        ] {
            assert!(
                serde_json::from_str::<serde_json::Map<String, Value>>(refused).is_err(),
                "a map reads {refused}"
            );
            assert!(
                serde_json::from_str::<PolicyClaims<'_>>(refused).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn text_claims_borrow_unless_escaped() {
        let claims: PolicyClaims<'_> =
            serde_json::from_str(r#"{"iss":"plain","sub":"esc\u0061ped","aud":["a","\u0062"]}"#)
                .unwrap();
        assert!(matches!(
            claims.iss,
            Some(Claim::String(Cow::Borrowed("plain")))
        ));
        assert!(matches!(claims.sub, Some(Claim::String(Cow::Owned(ref s))) if s == "escaped"));
        assert_eq!(
            claims.aud,
            Some(Claim::Strings(vec![
                Cow::Borrowed("a"),
                Cow::Owned("b".into())
            ]))
        );
    }
}
