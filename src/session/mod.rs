//! Sessions: the stored [`record`] of a session, its [`owner`] (a user, or anonymous), and
//! the pure refresh-token [`rotation`] decision that every store applies atomically. (The
//! engine and the stores build on these.)

pub mod owner;
pub mod record;
pub mod rotation;

pub use owner::{anonymous_handle, public_user_id, Owner};
pub use record::{DeviceInfo, RefreshState, SessionRecord};
pub use rotation::{decide, Decision, RefreshPolicy, Reject};
