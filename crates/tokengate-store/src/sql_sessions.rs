//! `SessionStore` in SQL both dialects accept, expanded beside `impl_sql_store!` for each pool
//! type (it uses that macro's `writer` and `write_audit`). Ending a session is one transaction
//! with its audit record.

macro_rules! impl_sql_session_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl tokengate_core::store::SessionStore for $store {
            async fn insert_session(
                &self,
                s: &tokengate_core::store::SignInSession,
            ) -> tokengate_core::store::StoreResult<()> {
                let _writer = self.writer().await;
                sqlx::query(
                    "INSERT INTO browser_sessions (session_id, tenant_id, user_id, auth_time, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(s.session_id.to_string())
                .bind(s.tenant_id.to_string())
                .bind(s.user_id.to_string())
                .bind(s.auth_time)
                .bind(s.expires_at)
                .execute(&self.pool)
                .await
                .map_err(crate::backend_error)?;
                Ok(())
            }

            async fn live_session(
                &self,
                session_id: uuid::Uuid,
                now: tokengate_core::UnixTime,
            ) -> tokengate_core::store::StoreResult<Option<tokengate_core::store::SignInSession>> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT tenant_id, user_id, auth_time, expires_at FROM browser_sessions \
                     WHERE session_id = $1 AND ended_at IS NULL AND expires_at > $2",
                )
                .bind(session_id.to_string())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::backend_error)?;
                let Some(row) = row else { return Ok(None) };
                let text = |c: &str| row.try_get::<String, _>(c).map_err(crate::backend_error);
                Ok(Some(tokengate_core::store::SignInSession {
                    session_id,
                    tenant_id: crate::rows::uuid(&text("tenant_id")?)?,
                    user_id: crate::rows::uuid(&text("user_id")?)?,
                    auth_time: row.try_get("auth_time").map_err(crate::backend_error)?,
                    expires_at: row.try_get("expires_at").map_err(crate::backend_error)?,
                }))
            }

            async fn end_session(
                &self,
                session_id: uuid::Uuid,
                now: tokengate_core::UnixTime,
                audit: &tokengate_core::audit::AuditEvent,
            ) -> tokengate_core::store::StoreResult<bool> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(crate::backend_error)?;
                let done = sqlx::query(
                    "UPDATE browser_sessions SET ended_at = $1 WHERE session_id = $2 AND ended_at IS NULL AND expires_at > $1",
                )
                .bind(now)
                .bind(session_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(crate::backend_error)?;
                if done.rows_affected() == 0 {
                    tx.rollback().await.map_err(crate::backend_error)?;
                    return Ok(false);
                }
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(crate::backend_error)?;
                Ok(true)
            }

            async fn end_user_sessions(
                &self,
                user_id: uuid::Uuid,
                now: tokengate_core::UnixTime,
                audit: &tokengate_core::audit::AuditEvent,
            ) -> tokengate_core::store::StoreResult<u64> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(crate::backend_error)?;
                let done = sqlx::query(
                    "UPDATE browser_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND expires_at > $1",
                )
                .bind(now)
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(crate::backend_error)?;
                let ended = done.rows_affected();
                let mut audit = audit.clone();
                if let serde_json::Value::Object(detail) = &mut audit.detail {
                    detail.insert("sessions_ended".into(), ended.into());
                }
                Self::write_audit(&mut *tx, &audit).await?;
                tx.commit().await.map_err(crate::backend_error)?;
                Ok(ended)
            }

            async fn purge_expired_sessions(
                &self,
                now: tokengate_core::UnixTime,
            ) -> tokengate_core::store::StoreResult<u64> {
                let _writer = self.writer().await;
                let done = sqlx::query("DELETE FROM browser_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(crate::backend_error)?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_sql_session_store;
