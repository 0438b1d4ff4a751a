//! [`PolicyClaims`]: the claims the verification policy reads, parsed without building a map of
//! all of them (the whole map is built only if the application asks for it).

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// `iss`, `aud`, `sub`, `exp`, `nbf` and `iat` of a token's claims, read as `serde_json` would
/// read them into a map (keys unescaped, the last of duplicate keys wins, the payload must be a
/// JSON object); every other claim is checked to be JSON and skipped. Parsing a Passage token's
/// claims this way costs less than half of a map of them, and a cached token keeps no map.
#[derive(Debug, Default)]
pub(crate) struct PolicyClaims {
    pub(crate) iss: Option<Value>,
    pub(crate) aud: Option<Value>,
    pub(crate) sub: Option<Value>,
    pub(crate) exp: Option<Value>,
    pub(crate) nbf: Option<Value>,
    pub(crate) iat: Option<Value>,
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

impl<'de> Deserialize<'de> for PolicyClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClaimsVisitor;
        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = PolicyClaims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PolicyClaims, A::Error> {
                let mut claims = PolicyClaims::default();
                while let Some(name) = map.next_key::<Name>()? {
                    let slot = match name {
                        Name::Iss => &mut claims.iss,
                        Name::Aud => &mut claims.aud,
                        Name::Sub => &mut claims.sub,
                        Name::Exp => &mut claims.exp,
                        Name::Nbf => &mut claims.nbf,
                        Name::Iat => &mut claims.iat,
                        Name::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
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

    #[test]
    fn reads_the_policy_claims_as_a_map_would() {
        for payload in [
            r#"{"iss":"a","aud":["x","y"],"sub":"u","exp":10,"nbf":1,"iat":2,"other":{"deep":[1,2]}}"#,
            r#"{"\u0065xp":5,"exp":6,"iss":null,"aud":"x"}"#,
            r#"{}"#,
        ] {
            let map: serde_json::Map<String, Value> = serde_json::from_str(payload).unwrap();
            let claims: PolicyClaims = serde_json::from_str(payload).unwrap();
            for (name, value) in [
                ("iss", &claims.iss),
                ("aud", &claims.aud),
                ("sub", &claims.sub),
                ("exp", &claims.exp),
                ("nbf", &claims.nbf),
                ("iat", &claims.iat),
            ] {
                assert_eq!(map.get(name), value.as_ref(), "{payload}: {name}");
            }
        }
        for not_an_object in ["[1,2]", "null", "5", r#""exp""#, r#"{"exp":}"#, r#"{"a":1"#] {
            assert!(
                serde_json::from_str::<PolicyClaims>(not_an_object).is_err(),
                "{not_an_object}"
            );
        }
    }
}
