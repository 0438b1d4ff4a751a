//! Authenticator models by AAGUID: the name and icons a device list shows for a passkey, as
//! Passage showed them. Only a few common passkey providers are known; others are "Passkey" with
//! no icon. (AAGUIDs from the community list at
//! <https://github.com/passkeydeveloper/passkey-authenticator-aaguids>; the icons are our own
//! plain badges.)

use webauthn_rs::prelude::Uuid;

/// A known authenticator model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known {
    pub name: &'static str,
    pub icon_light: &'static str,
    pub icon_dark: &'static str,
}

macro_rules! badge {
    ($fill:literal, $letter:literal) => {
        concat!(
            "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E",
            "%3Ccircle cx='12' cy='12' r='11' fill='%23",
            $fill,
            "'/%3E%3Ctext x='12' y='16.5' font-family='sans-serif' font-size='13' ",
            "text-anchor='middle' fill='white'%3E",
            $letter,
            "%3C/text%3E%3C/svg%3E"
        )
    };
}

const KNOWN: &[(u128, Known)] = &[
    (
        0xea9b8d66_4d01_1d21_3ce4_b6b48cb575d4,
        Known {
            name: "Google Password Manager",
            icon_light: badge!("1a73e8", "G"),
            icon_dark: badge!("8ab4f8", "G"),
        },
    ),
    (
        0xadce0002_35bc_c60a_648b_0b25f1f05503,
        Known {
            name: "Chrome on Mac",
            icon_light: badge!("1a73e8", "C"),
            icon_dark: badge!("8ab4f8", "C"),
        },
    ),
    (
        0xfbfc3007_154e_4ecc_8c0b_6e020557d7bd,
        Known {
            name: "iCloud Keychain",
            icon_light: badge!("333333", "A"),
            icon_dark: badge!("aaaaaa", "A"),
        },
    ),
    (
        0x08987058_cadc_4b81_b6e1_30de50dcbe96,
        Known {
            name: "Windows Hello",
            icon_light: badge!("0078d4", "W"),
            icon_dark: badge!("60b0f0", "W"),
        },
    ),
    (
        0xbada5566_a7aa_401f_bd96_45619a55120d,
        Known {
            name: "1Password",
            icon_light: badge!("0572ec", "1"),
            icon_dark: badge!("5fa8ff", "1"),
        },
    ),
    (
        0xd548826e_79b4_db40_a3d8_11116f7e8349,
        Known {
            name: "Bitwarden",
            icon_light: badge!("175ddc", "B"),
            icon_dark: badge!("6e9ef5", "B"),
        },
    ),
];

/// The model with this AAGUID, if known.
pub(crate) fn lookup(aaguid: Uuid) -> Option<&'static Known> {
    KNOWN
        .iter()
        .find(|(id, _)| *id == aaguid.as_u128())
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_models_have_names_and_icons() {
        let google = Uuid::parse_str("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").ok();
        let known = google.and_then(lookup);
        assert_eq!(known.map(|k| k.name), Some("Google Password Manager"));
        assert!(known.is_some_and(|k| k.icon_light.starts_with("data:image/svg+xml,")));
        assert!(lookup(Uuid::nil()).is_none());
    }
}
