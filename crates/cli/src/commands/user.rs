use std::process::ExitCode;

use crmsync_model::{Role, UserFields};

use crate::cli::UserAddArgs;
use crate::context::Context;

pub async fn add(ctx: &Context, args: UserAddArgs, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let role = if args.admin { Role::Admin } else { Role::User };
    let fields = UserFields {
        name: args.name,
        email: args.email,
        role,
        active: true,
    };
    let (user, token) = store.records().create_user(fields).await?;
    if json {
        println!("{}", serde_json::json!({ "user": user, "token": token }));
    } else {
        println!("added {} {} ({})", role.as_str(), user.fields.name, user.meta.id);
        println!("API token (shown once, store it now): {token}");
    }
    Ok(ExitCode::SUCCESS)
}
