//! rclone's filters: which objects a transfer, listing or deletion takes,
//! by path rules (`--include`, `--exclude`, `--filter`, and the `-from`
//! files), age and size. Applied to each object as listings stream past,
//! on both sides of a transfer, so a sync never deletes what it was told
//! to leave alone.
//!
//! Glob rules, as rclone's: `*` matches within one path segment, `**`
//! across segments, `?` one character but `/`, `[…]` a class, `{a,b}`
//! alternatives, `\` escapes. A rule starting with `/` is anchored at the
//! root; any other matches at the end of the path, at a segment boundary
//! (`*.jpg` matches `a/b.jpg`). A rule ending in `/` names directories:
//! it matches everything below them. The first rule that matches decides;
//! with no match an object is taken, unless an `--include` rule was given
//! (then rclone's implicit `- **` ends the list).

use std::time::{Duration, SystemTime};

use wharf::{Error, ErrorKind, Result, Timestamp};

/// One rule: include or exclude what the glob matches.
#[derive(Debug, Clone)]
struct Rule {
    include: bool,
    glob: Glob,
    /// A directory rule (`dir/`): it matches the objects below.
    directory: bool,
    text: String,
}

/// Which objects to take.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    rules: Vec<Rule>,
    exclude_rest: bool,
    max_age: Option<SystemTime>,
    min_age: Option<SystemTime>,
    max_size: Option<u64>,
    min_size: Option<u64>,
}

impl Filter {
    /// A filter that takes everything.
    pub fn new() -> Self {
        Filter::default()
    }

    /// Whether it takes everything (so nothing need be checked).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && !self.exclude_rest
            && self.max_age.is_none()
            && self.min_age.is_none()
            && self.max_size.is_none()
            && self.min_size.is_none()
    }

    /// `--include PATTERN`: take what it matches, and (as rclone) nothing
    /// that no rule matches.
    pub fn include(&mut self, pattern: &str) -> Result<()> {
        self.push(true, pattern)?;
        self.exclude_rest = true;
        Ok(())
    }

    /// `--exclude PATTERN`.
    pub fn exclude(&mut self, pattern: &str) -> Result<()> {
        self.push(false, pattern)
    }

    /// `--filter '+ PATTERN'` or `'- PATTERN'`; `!` clears the rules
    /// given so far.
    pub fn rule(&mut self, rule: &str) -> Result<()> {
        let rule = rule.trim();
        if rule == "!" {
            self.rules.clear();
            self.exclude_rest = false;
            return Ok(());
        }
        match rule.split_at_checked(2) {
            Some(("+ ", pattern)) => self.push(true, pattern),
            Some(("- ", pattern)) => self.push(false, pattern),
            _ => Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("filter rule '{rule}' does not start with '+ ' or '- ' (write \"+ *.jpg\" or \"- *.tmp\")"),
            )),
        }
    }

    /// Rules from a file's lines (`--filter-from`); blank lines and lines
    /// starting with `#` or `;` are skipped. `as_rule` says how a line
    /// reads: `None` as a `+`/`-` rule, `Some(true)` an include,
    /// `Some(false)` an exclude.
    pub fn rules_from(&mut self, text: &str, as_rule: Option<bool>) -> Result<()> {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            match as_rule {
                None => self.rule(line)?,
                Some(true) => self.include(line)?,
                Some(false) => self.exclude(line)?,
            }
        }
        Ok(())
    }

    /// Only objects modified less than `age` ago (`--max-age`).
    pub fn max_age(&mut self, age: Duration) {
        self.max_age = SystemTime::now().checked_sub(age);
    }

    /// Only objects modified more than `age` ago (`--min-age`).
    pub fn min_age(&mut self, age: Duration) {
        self.min_age = SystemTime::now().checked_sub(age);
    }

    /// Only objects of at most `bytes` (`--max-size`).
    pub fn max_size(&mut self, bytes: u64) {
        self.max_size = Some(bytes);
    }

    /// Only objects of at least `bytes` (`--min-size`).
    pub fn min_size(&mut self, bytes: u64) {
        self.min_size = Some(bytes);
    }

    /// The flag names [`Filter::flag`] takes, as rclone spells them.
    pub const FLAGS: &'static [&'static str] = &[
        "include",
        "exclude",
        "filter",
        "filter-from",
        "include-from",
        "exclude-from",
        "max-age",
        "min-age",
        "max-size",
        "min-size",
    ];

    /// Adds what rclone's `--FLAG VALUE` says (one of [`Filter::FLAGS`]):
    /// a rule, a file of rules (`-` for standard input), an age
    /// (`7d`, `1h30m`) or a size (`10M`; a bare number is KiB, as in
    /// rclone).
    pub fn flag(&mut self, flag: &str, value: &str) -> Result<()> {
        let read = |path: &str| -> Result<String> {
            let text = if path == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(path)
            };
            text.map_err(|e| Error::io(format!("--{flag} {path}: cannot read it"), e))
        };
        let size = || -> Result<u64> {
            wharf_rclone_conf::parse_flag_size(value).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidRequest,
                    format!("--{flag} {value}: not a size (write 10M, 1.5G, 100k)"),
                )
            })
        };
        let age = || {
            parse_duration(value).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidRequest,
                    format!("--{flag}: {}", e.message()),
                )
            })
        };
        match flag {
            "include" => self.include(value)?,
            "exclude" => self.exclude(value)?,
            "filter" => self.rule(value)?,
            "filter-from" => self.rules_from(&read(value)?, None)?,
            "include-from" => self.rules_from(&read(value)?, Some(true))?,
            "exclude-from" => self.rules_from(&read(value)?, Some(false))?,
            "max-age" => self.max_age(age()?),
            "min-age" => self.min_age(age()?),
            "max-size" => self.max_size(size()?),
            "min-size" => self.min_size(size()?),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    format!("--{other} is not a filter flag"),
                ))
            }
        }
        Ok(())
    }

    fn push(&mut self, include: bool, pattern: &str) -> Result<()> {
        let directory = pattern.ends_with('/') && pattern.len() > 1;
        let body = if directory {
            pattern.trim_end_matches('/')
        } else {
            pattern
        };
        let glob = Glob::parse(body).map_err(|why| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("filter pattern '{pattern}': {why}"),
            )
        })?;
        self.rules.push(Rule {
            include,
            glob,
            directory,
            text: pattern.to_owned(),
        });
        Ok(())
    }

    /// Whether the path rules take `path` (relative to the root of the
    /// listing, `/`-separated).
    pub fn takes_path(&self, path: &str) -> bool {
        let path = path.trim_start_matches('/');
        for rule in &self.rules {
            let matched = if rule.directory {
                // Every directory above the object.
                path.match_indices('/')
                    .any(|(i, _)| rule.glob.matches_path(&path[..i]))
            } else {
                rule.glob.matches_path(path)
            };
            if matched {
                return rule.include;
            }
        }
        !self.exclude_rest
    }

    /// Whether the directory `dir` is listed: as rclone, a rule decides
    /// for a directory when it matches the directory's path with its `/`
    /// (`photos/**` matches `photos/`, so it leaves the directory out, not
    /// only what is in it); a directory no rule matches is listed.
    pub fn takes_directory(&self, dir: &str) -> bool {
        let dir = dir.trim_matches('/');
        let with_slash = format!("{dir}/");
        for rule in &self.rules {
            let matched = if rule.directory {
                rule.glob.matches_path(dir)
            } else {
                rule.glob.matches_path(&with_slash)
            };
            if matched {
                return rule.include;
            }
        }
        true
    }

    /// Whether it takes an object at `path` of `size` bytes, modified at
    /// `modified`.
    pub fn takes(&self, path: &str, size: u64, modified: Option<&Timestamp>) -> bool {
        if self.max_size.is_some_and(|max| size > max)
            || self.min_size.is_some_and(|min| size < min)
        {
            return false;
        }
        if self.max_age.is_some() || self.min_age.is_some() {
            let Some(at) = modified.and_then(system_time) else {
                // rclone takes an object whose time it cannot tell.
                return self.takes_path(path);
            };
            if self.max_age.is_some_and(|cutoff| at < cutoff)
                || self.min_age.is_some_and(|cutoff| at > cutoff)
            {
                return false;
            }
        }
        self.takes_path(path)
    }

    /// The rules, as given, for messages.
    pub fn describe(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| format!("{} {}", if r.include { "+" } else { "-" }, r.text))
            .collect()
    }
}

fn system_time(t: &Timestamp) -> Option<SystemTime> {
    let secs = u64::try_from(t.seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, t.nanoseconds))
}

/// rclone's durations: a number with a unit (`ms`, `s`, `m`, `h`, `d`,
/// `w`, `M` months, `y` years), several in a row (`1h30m`); a bare number
/// is seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidRequest,
            format!("'{text}' is not a duration; write it as rclone does: 90s, 15m, 36h, 7d, 2w, 1M, 1y"),
        )
    };
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else {
            let scale = match rest.chars().next().ok_or_else(bad)? {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                'd' => 86_400.0,
                'w' => 7.0 * 86_400.0,
                'M' => 30.0 * 86_400.0,
                'y' => 365.0 * 86_400.0,
                _ => return Err(bad()),
            };
            (scale, 1)
        };
        total += number * unit;
        rest = &rest[len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// One glob, compiled.
#[derive(Debug, Clone)]
struct Glob {
    anchored: bool,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone)]
enum Token {
    Char(char),
    /// `?`
    Any,
    /// `*`
    Star,
    /// `**`
    Stars,
    /// `[…]`: (ranges, negated)
    Class(Vec<(char, char)>, bool),
    /// `{a,b}`
    Alt(Vec<Vec<Token>>),
}

impl Glob {
    fn parse(pattern: &str) -> std::result::Result<Glob, String> {
        let anchored = pattern.starts_with('/');
        let body = pattern.trim_start_matches('/');
        let chars: Vec<char> = body.chars().collect();
        let (tokens, end) = parse_tokens(&chars, 0, false)?;
        if end != chars.len() {
            return Err("a '}' without its '{'".into());
        }
        Ok(Glob { anchored, tokens })
    }

    /// Whether it matches `path`: whole if anchored, else at its end from a
    /// segment boundary.
    fn matches_path(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        if matches(&self.tokens, &chars) {
            return true;
        }
        if self.anchored {
            return false;
        }
        chars
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == '/')
            .any(|(i, _)| matches(&self.tokens, &chars[i + 1..]))
    }
}

/// Tokens from `at` to the end, or (inside braces) to the `,` or `}` that
/// ends the alternative; returns where it stopped.
fn parse_tokens(
    chars: &[char],
    mut at: usize,
    in_braces: bool,
) -> std::result::Result<(Vec<Token>, usize), String> {
    let mut tokens = Vec::new();
    while at < chars.len() {
        let c = chars[at];
        match c {
            '\\' => {
                let next = chars.get(at + 1).ok_or("it ends with a lone '\\'")?;
                tokens.push(Token::Char(*next));
                at += 2;
            }
            '?' => {
                tokens.push(Token::Any);
                at += 1;
            }
            '*' if chars.get(at + 1) == Some(&'*') => {
                tokens.push(Token::Stars);
                at += 2;
            }
            '*' => {
                tokens.push(Token::Star);
                at += 1;
            }
            '[' => {
                let mut i = at + 1;
                let negated = matches!(chars.get(i), Some('!' | '^'));
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = *chars.get(i).ok_or("a '[' without its ']'")?;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']')
                    {
                        ranges.push((c, chars[i + 2]));
                        i += 3;
                    } else {
                        ranges.push((c, c));
                        i += 1;
                    }
                }
                tokens.push(Token::Class(ranges, negated));
                at = i + 1;
            }
            '{' => {
                let mut alternatives = Vec::new();
                let mut i = at + 1;
                loop {
                    let (alt, end) = parse_tokens(chars, i, true)?;
                    alternatives.push(alt);
                    match chars.get(end) {
                        Some(',') => i = end + 1,
                        Some('}') => {
                            at = end + 1;
                            break;
                        }
                        _ => return Err("a '{' without its '}'".into()),
                    }
                }
                tokens.push(Token::Alt(alternatives));
            }
            ',' | '}' if in_braces => return Ok((tokens, at)),
            _ => {
                tokens.push(Token::Char(c));
                at += 1;
            }
        }
    }
    if in_braces {
        return Err("a '{' without its '}'".into());
    }
    Ok((tokens, at))
}

/// Whether `tokens` match all of `text`.
fn matches(tokens: &[Token], text: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Char(c) => text.first() == Some(c) && matches(rest, &text[1..]),
        Token::Any => text.first().is_some_and(|c| *c != '/') && matches(rest, &text[1..]),
        Token::Class(ranges, negated) => {
            text.first().is_some_and(|c| {
                *c != '/' && ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated
            }) && matches(rest, &text[1..])
        }
        Token::Star => {
            let stop = text.iter().position(|c| *c == '/').unwrap_or(text.len());
            (0..=stop).any(|n| matches(rest, &text[n..]))
        }
        Token::Stars => (0..=text.len()).any(|n| matches(rest, &text[n..])),
        Token::Alt(alternatives) => alternatives.iter().any(|alt| {
            let mut joined = alt.clone();
            joined.extend_from_slice(rest);
            matches(&joined, text)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn takes(rules: &[(&str, &str)], path: &str) -> bool {
        let mut filter = Filter::new();
        for (kind, pattern) in rules {
            match *kind {
                "include" => filter.include(pattern).unwrap(),
                "exclude" => filter.exclude(pattern).unwrap(),
                _ => filter.rule(pattern).unwrap(),
            }
        }
        filter.takes_path(path)
    }

    #[test]
    fn globs_match_as_rclone_documents() {
        // rclone's filtering docs: `*.jpg` matches at any level.
        assert!(!takes(&[("exclude", "*.jpg")], "a/b/c.jpg"));
        assert!(takes(&[("exclude", "*.jpg")], "a/b/c.png"));
        // `/` anchors at the root.
        assert!(!takes(&[("exclude", "/file.jpg")], "file.jpg"));
        assert!(takes(&[("exclude", "/file.jpg")], "dir/file.jpg"));
        // `*` stays in one segment, `**` crosses them.
        assert!(takes(&[("exclude", "/dir/*")], "dir/sub/x"));
        assert!(!takes(&[("exclude", "/dir/**")], "dir/sub/x"));
        // A rule matches whole segments: `l.jpg` does not match `xl.jpg`.
        assert!(takes(&[("exclude", "l.jpg")], "a/xl.jpg"));
        assert!(!takes(&[("exclude", "l.jpg")], "a/l.jpg"));
        // Classes, alternatives, `?`.
        assert!(!takes(&[("exclude", "*.{jpg,png}")], "x.png"));
        assert!(!takes(&[("exclude", "file[0-9].txt")], "file7.txt"));
        assert!(takes(&[("exclude", "file[!0-9].txt")], "file7.txt"));
        assert!(!takes(&[("exclude", "?.txt")], "a.txt"));
        assert!(takes(&[("exclude", "?.txt")], "ab.txt"));
        // A directory rule takes everything below.
        assert!(!takes(&[("exclude", "cache/")], "site/cache/a/b"));
        let mut filter = Filter::new();
        filter.exclude("photos/**").unwrap();
        assert!(!filter.takes_directory("photos"));
        assert!(filter.takes_directory("docs"));
        filter.include("*.png").unwrap();
        assert!(filter.takes_directory("docs"));
        assert!(takes(&[("exclude", "cache/")], "site/cache.txt"));
    }

    #[test]
    fn the_first_match_decides_and_includes_exclude_the_rest() {
        assert!(takes(&[("include", "*.sql")], "db/x.sql"));
        assert!(!takes(&[("include", "*.sql")], "db/x.txt"));
        assert!(takes(&[("filter", "- secret/**"), ("filter", "+ **")], "a"));
        assert!(!takes(
            &[("filter", "- secret/**"), ("filter", "+ **")],
            "secret/a"
        ));
        let mut filter = Filter::new();
        assert!(filter.rule("* x").is_err());
        assert!(filter.exclude("{a,b").is_err());
        filter
            .rules_from("# comment\n- *.tmp\n\n+ **\n", None)
            .unwrap();
        assert!(!filter.takes_path("x.tmp"));
    }

    #[test]
    fn sizes_and_ages() {
        let mut filter = Filter::new();
        filter.max_size(10);
        filter.min_size(2);
        assert!(filter.takes("a", 10, None));
        assert!(!filter.takes("a", 11, None));
        assert!(!filter.takes("a", 1, None));
        let mut filter = Filter::new();
        filter.max_age(Duration::from_secs(3600));
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let old = Timestamp {
            seconds: now - 7200,
            nanoseconds: 0,
        };
        let new = Timestamp {
            seconds: now - 60,
            nanoseconds: 0,
        };
        assert!(!filter.takes("a", 1, Some(&old)));
        assert!(filter.takes("a", 1, Some(&new)));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("soon").is_err());
    }
}
