//! What the process tests share: a fresh schema in the shared test PostgreSQL.

/// A URL of the shared test PostgreSQL (`base`) whose `search_path` is a new, empty schema named after
/// `prefix`, this process and the time, so tests running at once never see each other's rows.
pub(crate) async fn pg_schema_url(base: &str, prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let schema = format!("{prefix}_{}_{nanos}", std::process::id());
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(base)
        .await
        .expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}
