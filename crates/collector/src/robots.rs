//! A site's robots.txt rules, as RFC 9309 says to read them: a 4xx answer
//! means no rules, a 5xx or an unreachable file means the whole site is off
//! limits, and the file is read up to 500 KiB.

use texting_robots::Robot;

/// The most of a robots.txt that is read (RFC 9309: at least 500 KiB).
pub const MAX_ROBOTS_BYTES: u64 = 500 * 1024;

/// The rules for one site.
#[derive(Debug)]
pub enum Robots {
    /// No robots.txt (4xx), or one without rules for us.
    AllowAll,
    Rules(Box<Robot>),
    /// robots.txt failed (5xx, network error): nothing on the site is fetched.
    Unavailable(String),
}

impl Robots {
    /// The rules from a robots.txt answer.
    pub fn from_answer(product_token: &str, status: u16, body: &[u8]) -> Robots {
        match status {
            200..=299 => match Robot::new(product_token, body) {
                Ok(robot) => Robots::Rules(Box::new(robot)),
                // The parser is forgiving; a file it cannot read at all has no rules we can obey.
                Err(err) => {
                    tracing::warn!(error = %err, "unreadable robots.txt, treated as no rules");
                    Robots::AllowAll
                }
            },
            400..=499 => Robots::AllowAll,
            status => Robots::Unavailable(format!("robots.txt answered {status}")),
        }
    }

    /// Whether `url` may be fetched.
    pub fn allows(&self, url: &str) -> bool {
        match self {
            Robots::AllowAll => true,
            Robots::Rules(robot) => robot.allowed(url),
            Robots::Unavailable(_) => false,
        }
    }

    /// The site's Crawl-delay, if it has one.
    pub fn crawl_delay(&self) -> Option<f32> {
        match self {
            Robots::Rules(robot) => robot.delay,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_our_token_win_over_the_wildcard() {
        let txt =
            b"User-agent: *\nDisallow: /\n\nUser-agent: Augment-It-Collector\nDisallow: /private/\nCrawl-delay: 2\n";
        let robots = Robots::from_answer("Augment-It-Collector", 200, txt);
        assert!(robots.allows("http://site.example/public"));
        assert!(!robots.allows("http://site.example/private/x"));
        assert_eq!(robots.crawl_delay(), Some(2.0));
    }

    #[test]
    fn a_missing_file_allows_and_a_failing_one_forbids() {
        assert!(Robots::from_answer("a", 404, b"").allows("http://site.example/x"));
        assert!(!Robots::from_answer("a", 503, b"").allows("http://site.example/x"));
    }
}
