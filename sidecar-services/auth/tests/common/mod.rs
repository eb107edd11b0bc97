//! The service on a loopback port over a fresh database: the crate's
//! `fixture` module (SQLite, or PostgreSQL from `AUGMENT_TEST_POSTGRES_URL`),
//! and a macro that runs a test on both.
#![allow(dead_code)] // each test binary uses part of it

pub use auth_service::fixture::{ADMIN, AuthServer as Server, Backend};

/// Starts the service on `backend` with `tweak` applied to the default config.
pub async fn start(backend: &Backend, tweak: impl FnOnce(&mut auth_service::Config)) -> Server {
    Server::start_on(backend, tweak).await
}

/// Runs each named `async fn(Backend)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::common::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            }
        )*
    };
}
