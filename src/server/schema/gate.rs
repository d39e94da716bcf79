//! Queries need the READ permission, mutations WRITE: checked once per request, right after
//! parsing, before any resolver runs. Only the operation that will run counts: clients such
//! as graphql_client send a whole document of operations and pick one by `operationName`.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, ServerError, ServerResult, Variables};

use crate::server::auth::Caller;
use crate::server::model::Permission;

pub struct PermissionGate;

impl ExtensionFactory for PermissionGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Gate::default())
    }
}

/// One per request: remembers the requested operation name between the two hooks.
#[derive(Default)]
struct Gate {
    operation_name: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for Gate {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut name) = self.operation_name.lock() {
            name.clone_from(&request.operation_name);
        }
        next.run(ctx, request).await
    }

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
        let wanted = self.operation_name.lock().ok().and_then(|n| n.clone());
        let selected = document
            .operations
            .iter()
            .filter(|(name, _)| wanted.is_none() || name.map(|n| n.as_str()) == wanted.as_deref());
        for (_, operation) in selected {
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
                if needed == Permission::Write {
                    audit_refusal(ctx, caller, &operation.node, what).await;
                }
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

/// A mutation refused here never reaches a resolver; it is audited all the same, under the
/// names of the fields it asked for.
async fn audit_refusal(
    ctx: &ExtensionContext<'_>,
    caller: &Caller,
    operation: &async_graphql::parser::types::OperationDefinition,
    why: &str,
) {
    use async_graphql::parser::types::Selection;
    let Some(services) = ctx.data_opt::<super::Services>() else {
        return;
    };
    let fields: Vec<&str> = operation
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(field) => Some(field.node.name.node.as_str()),
            _ => None,
        })
        .collect();
    let action = if fields.is_empty() {
        "mutation".to_owned()
    } else {
        fields.join(",")
    };
    if let Err(e) = services
        .store
        .append_audit(
            Some(caller.identity_id()),
            &action,
            None,
            "FORBIDDEN",
            Some(why),
        )
        .await
    {
        tracing::error!(error = %e, "could not audit a refused mutation");
    }
}
