//! Sessions: the stored [`record`] of a session and the pure refresh-token [`rotation`]
//! decision that every store applies atomically. (The engine and the stores build on these.)

pub mod record;
pub mod rotation;

pub use record::{DeviceInfo, RefreshState, SessionRecord};
pub use rotation::{decide, Decision, RefreshPolicy, Reject};
