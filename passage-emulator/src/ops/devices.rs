//! WebAuthn devices: list, revoke, and add an emulated one.

use super::OpError;
use crate::random::{random_id, random_string};
use crate::store::Store;
use crate::store::records::{Device, DeviceKind, now};

/// A user's devices.
pub(crate) fn list(store: &Store, user_id: &str) -> Result<Vec<Device>, OpError> {
    store
        .read(|s| s.user(user_id).map(|u| u.devices.clone()))
        .ok_or(OpError::UserNotFound)
}

/// Revokes (deletes) one device of a user.
pub(crate) fn revoke(store: &Store, user_id: &str, device_id: &str) -> Result<(), OpError> {
    store.mutate(|s| {
        let u = s.user_mut(user_id).ok_or(OpError::UserNotFound)?;
        let at = u
            .devices
            .iter()
            .position(|d| d.id == device_id)
            .ok_or(OpError::DeviceNotFound)?;
        u.devices.remove(at);
        u.updated_at = now();
        Ok(())
    })
}

/// Registers an emulated device to a user (default name: `Emulated <kind>`).
pub(crate) fn add(
    store: &Store,
    user_id: &str,
    kind: DeviceKind,
    friendly_name: Option<String>,
) -> Result<Device, OpError> {
    store.mutate(|s| {
        let u = s.user_mut(user_id).ok_or(OpError::UserNotFound)?;
        let t = now();
        let kind_name = match kind {
            DeviceKind::Passkey => "passkey",
            DeviceKind::SecurityKey => "security_key",
            DeviceKind::Platform => "platform",
        };
        let device = Device {
            id: random_id(),
            cred_id: random_string(43),
            friendly_name: friendly_name.unwrap_or_else(|| format!("Emulated {kind_name}")),
            kind,
            created_at: t,
            updated_at: t,
            last_login_at: None,
            usage_count: 0,
            icon_light: None,
            icon_dark: None,
            passkey: None,
            aaguid: None,
            sign_count: 0,
        };
        u.devices.push(device.clone());
        u.updated_at = t;
        Ok(device)
    })
}
