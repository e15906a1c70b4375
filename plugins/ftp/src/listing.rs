//! Directory listings as servers send them: MLSD/MLST facts (RFC 3659),
//! and LIST in the Unix `ls -l` and the DOS/Windows formats for servers
//! without MLSD (vsftpd).

/// What one listing line describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub name: String,
    pub kind: Kind,
    pub size: Option<u64>,
    /// Seconds since the Unix epoch, UTC.
    pub modified: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// `.`, `..`, links and devices: never objects.
    Other,
}

/// One MLSD line or MLST fact line: `type=file;size=12;modify=20261124080000; name`.
pub fn parse_mlsx(line: &str) -> Option<ListEntry> {
    let line = line.strip_prefix(' ').unwrap_or(line);
    let (facts, name) = line.split_once(' ')?;
    let mut entry = ListEntry {
        name: name.to_owned(),
        kind: Kind::Other,
        size: None,
        modified: None,
    };
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let (key, value) = fact.split_once('=')?;
        match key.to_ascii_lowercase().as_str() {
            "type" => {
                entry.kind = match value.to_ascii_lowercase().as_str() {
                    "file" => Kind::File,
                    "dir" => Kind::Dir,
                    _ => Kind::Other,
                }
            }
            "size" => entry.size = value.parse().ok(),
            "modify" => entry.modified = parse_time(value),
            _ => {}
        }
    }
    Some(entry)
}

/// One LIST line, Unix or DOS format; `None` for lines that describe no
/// entry (`total 12`).
pub fn parse_list(line: &str) -> Option<ListEntry> {
    parse_unix(line).or_else(|| parse_dos(line))
}

/// `-rw-r--r--   1 owner group   1234 Nov 24 08:00 a name`; the group may
/// be missing, and the name runs to the end of the line, spaces and all.
fn parse_unix(line: &str) -> Option<ListEntry> {
    let kind = match line.chars().next()? {
        '-' => Kind::File,
        'd' => Kind::Dir,
        'l' | 'c' | 'b' | 'p' | 's' => Kind::Other,
        _ => return None,
    };
    let fields = fields(line);
    // Find the date: a month name, a day, then a time or a year.
    let month = (3..fields.len().saturating_sub(3)).find(|&i| {
        is_month(fields[i].1)
            && fields[i + 1]
                .1
                .parse::<u8>()
                .is_ok_and(|d| (1..=31).contains(&d))
            && (fields[i + 2].1.contains(':') || fields[i + 2].1.parse::<u16>().is_ok())
    })?;
    let size = fields[month - 1].1.parse().ok();
    // One space after the time or year, then the name as it is.
    let (time_start, time) = fields[month + 2];
    let mut name = line.get(time_start + time.len() + 1..)?;
    if name.is_empty() {
        return None;
    }
    if kind == Kind::Other {
        if let Some((link, _)) = name.split_once(" -> ") {
            name = link;
        }
    }
    Some(ListEntry {
        name: name.to_owned(),
        kind,
        size,
        modified: None,
    })
}

/// `11-24-26  08:00AM       <DIR>          a name` or
/// `11-24-26  08:00AM                1234 a name`.
fn parse_dos(line: &str) -> Option<ListEntry> {
    let fields = fields(line);
    let (date, time, size_or_dir) = (fields.first()?.1, fields.get(1)?.1, fields.get(2)?.1);
    let date_ok = date.len() >= 8
        && date
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '/');
    let time_ok = time.contains(':');
    if !date_ok || !time_ok {
        return None;
    }
    let name_start = fields.get(3)?.0;
    let (kind, size) = if size_or_dir.eq_ignore_ascii_case("<DIR>") {
        (Kind::Dir, None)
    } else {
        (Kind::File, Some(size_or_dir.parse().ok()?))
    };
    Some(ListEntry {
        name: line[name_start..].to_owned(),
        kind,
        size,
        modified: None,
    })
}

/// The whitespace-separated fields of `line`, with where each starts.
fn fields(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

fn is_month(text: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    MONTHS.contains(&text.to_ascii_lowercase().as_str())
}

/// `YYYYMMDDHHMMSS[.sss]` (MDTM, MLSD `modify`), UTC, as Unix seconds.
pub fn parse_time(text: &str) -> Option<u64> {
    let digits = text.split('.').next()?;
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |range: std::ops::Range<usize>| digits[range].parse::<i64>().ok();
    let (year, month, day) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hour, minute, second) = (n(8..10)?, n(10..12)?, n(12..14)?);
    let time = wharf_plugin::time::utc_timestamp((year, month, day), (hour, minute, second), 0)?;
    u64::try_from(time.seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mlsd() {
        let entry =
            parse_mlsx("type=file;size=1234;modify=20261124080000;perm=r; a b.txt").unwrap();
        assert_eq!(entry.name, "a b.txt");
        assert_eq!(entry.kind, Kind::File);
        assert_eq!(entry.size, Some(1234));
        assert_eq!(entry.modified, Some(1_795_507_200));
        assert_eq!(parse_mlsx("type=cdir; .").unwrap().kind, Kind::Other);
        assert_eq!(
            parse_mlsx("Type=dir;Modify=19700101000000; d")
                .unwrap()
                .kind,
            Kind::Dir
        );
    }

    #[test]
    fn reads_unix_list() {
        let entry =
            parse_list("-rw-r--r--    1 0        0            1234 Nov 24 08:00  two  spaces")
                .unwrap();
        assert_eq!(entry.name, " two  spaces");
        assert_eq!(entry.size, Some(1234));
        assert_eq!(entry.kind, Kind::File);
        let dir = parse_list("drwxr-xr-x 2 ftp 4096 Jan  1  2025 photos 2024").unwrap();
        assert_eq!(dir.kind, Kind::Dir);
        assert_eq!(dir.name, "photos 2024");
        let link = parse_list("lrwxrwxrwx 1 a b 4 Jan 1 2025 l -> target").unwrap();
        assert_eq!((link.kind, link.name.as_str()), (Kind::Other, "l"));
        assert_eq!(parse_list("total 12"), None);
    }

    #[test]
    fn reads_dos_list() {
        let file = parse_list("11-24-26  08:00AM                 1234 report final.pdf").unwrap();
        assert_eq!((file.kind, file.size), (Kind::File, Some(1234)));
        assert_eq!(file.name, "report final.pdf");
        let dir = parse_list("11-24-2026  08:00PM       <DIR>          old stuff").unwrap();
        assert_eq!((dir.kind, dir.name.as_str()), (Kind::Dir, "old stuff"));
    }

    #[test]
    fn reads_times() {
        assert_eq!(parse_time("19700101000000"), Some(0));
        assert_eq!(parse_time("20000301000000.123"), Some(951_868_800));
        assert_eq!(parse_time("2026112408"), None);
    }
}
