//! Build script: lets `napi build` add the linker flags a Node addon needs.
//! It does nothing when the `napi` feature is off.

fn main() {
  if std::env::var_os("CARGO_FEATURE_NAPI").is_some() {
    napi_build::setup();
  }
}
