//! Authoring a registry: building the next documents ([`documents`], pure)
//! and writing them to a local folder ([`folder`]).

pub mod documents;
pub mod folder;
