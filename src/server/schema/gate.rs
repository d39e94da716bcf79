//! Queries need the READ permission, mutations WRITE: checked once per request, right after
//! parsing, before any resolver runs.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, ServerResult, Variables};

use crate::server::auth::Caller;
use crate::server::model::Permission;

pub struct PermissionGate;

impl ExtensionFactory for PermissionGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PermissionGate)
    }
}

#[async_trait::async_trait]
impl Extension for PermissionGate {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let Some(caller) = ctx.data_opt::<Caller>() else {
            return Err(ServerError::new("request is not authenticated", None));
        };
        for (_, operation) in document.operations.iter() {
            let needed = match operation.node.ty {
                OperationType::Mutation => Permission::Write,
                OperationType::Query | OperationType::Subscription => Permission::Read,
            };
            if !caller.key.allows(needed) {
                let what = if needed == Permission::Write {
                    "mutations need a key with the WRITE permission"
                } else {
                    "queries need a key with the READ permission"
                };
                let mut error = ServerError::new(format!("forbidden: {what}"), None);
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "FORBIDDEN");
                error.extensions = Some(ext);
                return Err(error);
            }
        }
        Ok(document)
    }
}
