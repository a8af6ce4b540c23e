//! clap's errors as one line on stderr: what is wrong, the valid values or the missing
//! argument's name, and the usage line of the command.

use std::process::ExitCode;

use clap::error::ErrorKind;

/// Help and version go to stdout as clap prints them (exit 0); a usage error is one line on
/// stderr and exit 2.
pub(crate) fn exit(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            eprintln!("natsc: {}", one_line(&e.render().to_string()));
            ExitCode::from(2)
        }
    }
}

/// clap's rendered error, folded into one line:
/// `the following required arguments were not provided: <SUBJECT> (usage: natsc pub ...)`.
pub(crate) fn one_line(text: &str) -> String {
    let mut head = String::new();
    let mut details: Vec<&str> = Vec::new();
    let mut usage = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("For more information") {
            continue;
        }
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u);
        } else if head.is_empty() {
            head = line.strip_prefix("error: ").unwrap_or(line).to_string();
        } else {
            details.push(line);
        }
    }
    if head.is_empty() {
        head = "invalid arguments".into();
    }
    let mut out = head;
    if !details.is_empty() {
        if !out.ends_with(':') {
            out.push(';');
        }
        out.push(' ');
        out.push_str(&details.join(", "));
    }
    match usage {
        Some(u) => out.push_str(&format!(" (usage: {u}; see --help)")),
        None => out.push_str(" (see natsc --help)"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn missing_argument_names_it_with_the_usage() {
        let text = "error: the following required arguments were not provided:\n  <SUBJECT>\n\n\
                    Usage: natsc pub <SUBJECT> [BODY]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(text),
            "the following required arguments were not provided: <SUBJECT> \
             (usage: natsc pub <SUBJECT> [BODY]; see --help)"
        );
    }

    #[test]
    fn invalid_value_lists_the_valid_ones() {
        let text = "error: invalid value 'foo' for '[MODE]'\n  [possible values: pub, sub]\n\n\
                    For more information, try '--help'.\n";
        assert_eq!(
            one_line(text),
            "invalid value 'foo' for '[MODE]'; [possible values: pub, sub] (see natsc --help)"
        );
    }
}
