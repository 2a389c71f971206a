//! Date (RFC 3261 section 20.17): an RFC 1123 date in GMT,
//! `Sat, 13 Nov 2010 23:29:00 GMT`. RFC 8224 verifiers compare it with the PASSporT `iat`.

use crate::SipError;

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn bad(reason: &'static str) -> SipError {
    SipError::BadHeaderValue {
        name: "Date",
        reason,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count from 0000-03-01 so that the leap day falls at the end of the counted year.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn number(s: &str, digits: usize) -> Result<i64, SipError> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not an RFC 1123 date"));
    }
    s.parse().map_err(|_| bad("not an RFC 1123 date"))
}

/// Parses `wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"`
/// into seconds since the Unix epoch. The weekday must be a weekday name but is not
/// checked against the date.
pub fn parse_date(s: &str) -> Result<i64, SipError> {
    if s.len() != 29 {
        return Err(bad("not an RFC 1123 date"));
    }
    let (wkday, rest) = s.split_once(", ").ok_or(bad("not an RFC 1123 date"))?;
    if !WEEKDAYS.contains(&wkday) {
        return Err(bad("unknown weekday"));
    }
    let mut parts = rest.split(' ');
    let (Some(day), Some(month), Some(year), Some(time), Some("GMT"), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad("not an RFC 1123 date"));
    };
    let month = MONTHS
        .iter()
        .position(|&m| m == month)
        .ok_or(bad("unknown month"))?;
    let month = i64::try_from(month).map_err(|_| bad("unknown month"))? + 1;
    let year = number(year, 4)?;
    let day = number(day, 2)?;
    if day < 1 || day > days_in_month(year, month) {
        return Err(bad("day out of range"));
    }
    let mut hms = time.split(':');
    let (Some(h), Some(m), Some(sec), None) = (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return Err(bad("not an RFC 1123 date"));
    };
    let (h, m, sec) = (number(h, 2)?, number(m, 2)?, number(sec, 2)?);
    if h > 23 || m > 59 || sec > 60 {
        return Err(bad("time out of range"));
    }
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Formats seconds since the Unix epoch as a Date header value. Years outside 0000-9999
/// are clamped to that range.
pub fn format_date(unix_secs: i64) -> String {
    // 0000-01-01 and 9999-12-31T23:59:59, the range a 4-digit year can show.
    let unix_secs = unix_secs.clamp(-62_167_219_200, 253_402_300_799);
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = usize::try_from(days.rem_euclid(7)).unwrap_or_default();
    let month_name = usize::try_from(month - 1)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS.get(weekday).copied().unwrap_or("Thu"),
        day,
        month_name,
        year,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_to_unix_seconds() {
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 GMT"), Ok(0));
        assert_eq!(
            parse_date("Sat, 13 Nov 2010 23:29:00 GMT"),
            Ok(1_289_690_940)
        );
        assert_eq!(
            parse_date("Fri, 25 Sep 2015 19:12:25 GMT"),
            Ok(1_443_208_345)
        );
        assert_eq!(
            parse_date("Thu, 29 Feb 2024 12:00:00 GMT"),
            Ok(1_709_208_000)
        );
    }

    #[test]
    fn formatting_round_trips() {
        for t in [
            0,
            1_289_690_940,
            1_443_208_345,
            1_709_208_000,
            951_782_400,
            -86_400,
        ] {
            let s = format_date(t);
            assert_eq!(parse_date(&s), Ok(t), "{s}");
        }
        assert_eq!(format_date(1_443_208_345), "Fri, 25 Sep 2015 19:12:25 GMT");
        assert_eq!(format_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn malformed_dates_are_refused() {
        for s in [
            "Sat, 13 Nov 2010 23:29:00 UTC",
            "Sat, 13 Nov 2010 23:29:00",
            "Sat 13 Nov 2010 23:29:00 GMT ",
            "Xyz, 13 Nov 2010 23:29:00 GMT",
            "Sat, 13 Foo 2010 23:29:00 GMT",
            "Sat, 31 Nov 2010 23:29:00 GMT",
            "Sat, 29 Feb 2023 23:29:00 GMT",
            "Sat, 13 Nov 2010 24:29:00 GMT",
            "Sat, 1a Nov 2010 23:29:00 GMT",
            "Sat, 13 Nov 2010 23:29:0a GMT",
            "",
        ] {
            assert!(parse_date(s).is_err(), "{s}");
        }
    }
}
