//! `crmsync convert --activity ID --to opportunity|lead|case --user NAME`
//! (R-TRACK-3): the API's conversion, acting as a CRM user: the same checks
//! (that user must be able to change the activity) and the same store call.

use std::process::ExitCode;

use anyhow::Context as _;
use crmsync_model::{Actor, ConvertTarget};
use crmsync_ops::convert::{self as ops, ConvertRequest};
use crmsync_store::Conversion;
use serde_json::{Map, Value};

use crate::cli::ConvertArgs;
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: ConvertArgs, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let user = profiles::find_user(&store, &args.user).await?;
    let actor = Actor {
        user_id: user.meta.id.clone(),
        role: user.fields.role,
    };
    let request = ConvertRequest {
        to: args.to,
        fields: Some(values(&args.set)?),
        replace_regarding: args.replace_regarding,
    };
    let activity = ops::convertible(&store, &actor, &args.activity).await?;
    let prepared = ops::prepare(&store, activity, request).await?;
    // Against the version just read: an edit in between is a conflict to
    // look at, not something to overwrite.
    let version = prepared.activity.meta.version;
    let outcome = prepared.commit(&store, version, &user.meta.id).await?;
    let (record, created) = match &outcome {
        Conversion::Created { target, .. } => (target, true),
        Conversion::Existing { target, .. } => (target, false),
    };
    if json {
        let out = serde_json::json!({ "record": record, "created": created, "activity": args.activity });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if created {
        println!(
            "activity {} converted into {} {}; it now regards it",
            args.activity, record.entity, record.id
        );
    } else {
        println!(
            "activity {} was already converted into {} {}; nothing changed (R-TRACK-3-ONCE)",
            args.activity, record.entity, record.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--set title=Renewal --set estimated_value=4000`: a value that reads as
/// JSON (a number, `true`, `"quoted"`) is taken as that, anything else as text.
fn values(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    pairs
        .iter()
        .map(|pair| {
            let (key, text) = pair
                .split_once('=')
                .with_context(|| format!("--set {pair}: expected NAME=VALUE, e.g. --set title=Renewal"))?;
            let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
            Ok((key.trim().to_owned(), value))
        })
        .collect()
}

/// For clap: the target by its API name.
pub fn parse_target(s: &str) -> Result<ConvertTarget, String> {
    serde_json::from_value(Value::String(s.to_owned()))
        .map_err(|_| format!("`{s}` is not one of opportunity, lead, case"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_track_3_cli_values_are_json_when_they_read_as_json_else_text() {
        let v = values(&[
            "estimated_value=4000".into(),
            "title=Renewal 2027".into(),
            "shared=true".into(),
        ])
        .unwrap();
        assert_eq!(v["estimated_value"], 4000);
        assert_eq!(v["title"], "Renewal 2027");
        assert_eq!(v["shared"], true);
        assert!(values(&["no-equals".into()]).is_err());
        assert_eq!(parse_target("case"), Ok(ConvertTarget::Case));
        assert!(parse_target("deal").is_err());
    }
}
