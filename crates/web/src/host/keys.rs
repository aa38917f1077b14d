//! API keys under `/settings/api-keys`: the list, creating a key (its secret is shown once,
//! in that answer) and revoking one of the host's keys.

use actix_web::http::StatusCode;
use actix_web::web;
use booking_core::accounts::{ApiKey, ApiKeyId, ApiKeySecret};
use booking_core::ports::{Clock, StoreError, TokenSource};
use serde::Deserialize;

use super::extract::{HostForm, LoggedIn, Posted};
use super::page::{CsrfPosted, ListQuery, PageResult, page, see_other};
use super::summary::moment;
use crate::AppState;
use crate::errors::{Error, Failure, HostPage};
use crate::views::host::settings::{self, KeyRow, KeysView};

/// The form that creates a key.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
}

impl HostForm for KeyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn keys_view(state: &AppState, me: &LoggedIn) -> Result<KeysView, Error<HostPage>> {
    let keys = me.side.accounts.api_keys(me.id()).await?;
    let zone = me.host.time_zone();
    Ok(KeysView {
        viewer: me.viewer(),
        keys: keys
            .iter()
            .map(|k| KeyRow {
                id: k.id().to_string(),
                label: k.label().to_owned(),
                prefix: k.prefix().to_owned(),
                created: moment(k.created_at(), zone),
                revoked: k.revoked_at().map(|t| moment(t, zone)),
                revoke_action: format!("/settings/api-keys/{}/revoke", k.id()),
            })
            .collect(),
        new_secret: None,
        error: None,
        notice: None,
        base_url: state.public_base_url.clone(),
    })
}

pub(crate) async fn keys_page(
    me: LoggedIn,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> PageResult {
    let mut vm = keys_view(&state, &me).await?;
    vm.notice = query.notice();
    Ok(page(StatusCode::OK, settings::api_keys(&vm)))
}

pub(crate) async fn key_create(state: web::Data<AppState>, posted: Posted<KeyForm>) -> PageResult {
    let Posted { me, form } = posted;
    let side = &me.side;
    let secret = ApiKeySecret::parse(&format!("sk_{}", side.ids.new_token().expose()))
        .map_err(|_| StoreError::msg("the token source made a malformed key"))?;
    let id = ApiKeyId::from_uuid(side.ids.new_booking_id().as_uuid());
    let (status, new_secret, error) = match ApiKey::new(
        id,
        me.id(),
        &form.label,
        &secret,
        state.scheduler.clock().now(),
    ) {
        Ok(key) => {
            side.accounts.add_api_key(&key).await?;
            tracing::info!(host = %me.id(), key = %key.id(), "API key created");
            (StatusCode::CREATED, Some(secret.expose().to_owned()), None)
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(e.to_string())),
    };
    let mut vm = keys_view(&state, &me).await?;
    vm.new_secret = new_secret;
    vm.error = error;
    Ok(page(status, settings::api_keys(&vm)))
}

pub(crate) async fn key_revoke(
    state: web::Data<AppState>,
    id: web::Path<String>,
    posted: CsrfPosted,
) -> PageResult {
    let me = posted.me;
    let id = ApiKeyId::parse(&id).map_err(|_| Failure::NotFound)?;
    if !me
        .side
        .accounts
        .revoke_api_key(me.id(), id, state.scheduler.clock().now())
        .await?
    {
        return Err(Failure::NotFound.into());
    }
    tracing::info!(host = %me.id(), key = %id, "API key revoked");
    Ok(see_other("/settings/api-keys?done=key-revoked"))
}
