//! The public site (F13 public side, F14): information for children, young people, parents and
//! professionals, the support directory in plain language, and raising a concern online
//! (`public_concern.rs`). No sign-in. Pages are rendered on the server and work with JavaScript
//! off; every page carries the emergency and out-of-hours numbers and a "leave this site" link.
//!
//! The words come from Markdown files (`content/public/*.md` built in, or `[public] content_dir`)
//! so the authority can change them without touching templates. A page's first line is
//! `# Title`; raw HTML in the Markdown is shown as text, never passed through.

use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pulldown_cmark::{Event as Md, Options, Parser, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The public site's settings (`[public]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicSettings {
    /// A directory of `*.md` pages replacing the shipped ones (must hold `start.md`).
    pub content_dir: String,
    /// The front door's own number, printed on every public page.
    pub phone: String,
    /// The out-of-hours (emergency duty) number, printed on every public page.
    pub out_of_hours_phone: String,
    /// Where "leave this site" goes: an everyday page that gives nothing away.
    pub exit_url: String,
    /// The raise-a-concern form forgets answers left this long without a step.
    pub form_idle_minutes: u32,
    /// At most this many form submissions a minute from one network address (held in memory
    /// only, never stored).
    pub posts_per_minute: u32,
}

impl Default for PublicSettings {
    fn default() -> Self {
        PublicSettings {
            content_dir: String::new(),
            phone: "01632 960 100 (Monday to Friday, 9am to 5pm)".into(),
            out_of_hours_phone: "01632 960 199 (evenings, weekends and bank holidays)".into(),
            exit_url: "https://www.bbc.co.uk/weather".into(),
            form_idle_minutes: 30,
            posts_per_minute: 20,
        }
    }
}

/// The shipped pages: (slug, Markdown).
const BUILT_IN: [(&str, &str); 9] = [
    ("start", include_str!("../../../content/public/start.md")),
    ("start-easy-read", include_str!("../../../content/public/start-easy-read.md")),
    ("children", include_str!("../../../content/public/children.md")),
    ("children-easy-read", include_str!("../../../content/public/children-easy-read.md")),
    ("young-people", include_str!("../../../content/public/young-people.md")),
    ("young-people-easy-read", include_str!("../../../content/public/young-people-easy-read.md")),
    ("parents", include_str!("../../../content/public/parents.md")),
    ("parents-easy-read", include_str!("../../../content/public/parents-easy-read.md")),
    ("professionals", include_str!("../../../content/public/professionals.md")),
];

/// One rendered page.
#[derive(Debug, Clone)]
pub struct ContentPage {
    pub title: String,
    /// HTML from the Markdown, with any raw HTML escaped.
    pub html: String,
    pub easy_read: bool,
}

/// Every public page, by slug.
#[derive(Debug, Clone, Default)]
pub struct Content {
    pages: BTreeMap<String, ContentPage>,
}

impl Content {
    pub fn built_in() -> Result<Content, String> {
        let mut c = Content::default();
        for (slug, text) in BUILT_IN {
            c.add(slug, &format!("content/public/{slug}.md"), text)?;
        }
        Ok(c)
    }

    /// The pages of `dir` (every `*.md`; the file name without `.md` is the slug). A mistake
    /// names the file.
    pub fn from_dir(dir: &str) -> Result<Content, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{dir}: cannot read the directory: {e}"))?;
        let mut c = Content::default();
        for entry in entries {
            let path = entry.map_err(|e| format!("{dir}: {e}"))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("md") {
                continue;
            }
            let shown = path.display().to_string();
            let slug = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            if slug.is_empty() || !slug.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-') {
                return Err(format!("{shown}: a page's file name is lower-case letters, digits and hyphens"));
            }
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
            c.add(&slug, &shown, &text)?;
        }
        if !c.pages.contains_key("start") {
            return Err(format!("{dir}: there is no start.md (the public start page)"));
        }
        Ok(c)
    }

    fn add(&mut self, slug: &str, file: &str, text: &str) -> Result<(), String> {
        let mut lines = text.lines();
        let title = lines
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("{file}:1: a page starts with its title, as '# Title'"))?;
        let body: Vec<&str> = lines.collect();
        let html = markdown(&body.join("\n"));
        self.pages.insert(
            slug.to_owned(),
            ContentPage { title: title.to_owned(), html, easy_read: slug.ends_with("-easy-read") },
        );
        Ok(())
    }

    pub fn page(&self, slug: &str) -> Option<&ContentPage> {
        self.pages.get(slug)
    }
}

/// Markdown to HTML; raw HTML is escaped, so content files cannot inject markup or scripts.
fn markdown(text: &str) -> String {
    let parser = Parser::new_ext(text, Options::empty()).map(|e| match e {
        Md::Html(t) | Md::InlineHtml(t) => Md::Text(t),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

/// A public page as a response (a template that fails to render is a plain 500, logged).
pub(crate) fn render_page(t: impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a public page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Sorry, something went wrong. Please call us instead.").into_response()
        }
    }
}

/// What every public page shows around its content.
pub struct PublicLayout {
    pub title: String,
    pub phone: String,
    pub out_of_hours: String,
    pub exit_url: String,
}

impl PublicLayout {
    pub fn new(state: &AppState, title: &str) -> PublicLayout {
        let p = &state.cfg.public;
        PublicLayout {
            title: title.to_owned(),
            phone: p.phone.clone(),
            out_of_hours: p.out_of_hours_phone.clone(),
            exit_url: p.exit_url.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "public_page.html")]
struct InfoPage<'a> {
    layout: PublicLayout,
    page: &'a ContentPage,
    start: bool,
}

/// The site's start page (also what `/` shows to someone not signed in).
pub(crate) fn start_page(state: &AppState) -> Response {
    info_response(state, "start")
}

fn info_response(state: &AppState, slug: &str) -> Response {
    match state.content.page(slug) {
        Some(page) => render_page(
            InfoPage { layout: PublicLayout::new(state, &page.title), page, start: slug == "start" },
            StatusCode::OK,
        ),
        None => not_found(state),
    }
}

pub(crate) async fn info(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    info_response(&state, &slug)
}

#[derive(Template)]
#[template(path = "public_message.html")]
pub(crate) struct MessagePage {
    pub layout: PublicLayout,
    pub heading: String,
    pub lines: Vec<String>,
    pub link: Option<(String, String)>,
}

pub(crate) fn not_found(state: &AppState) -> Response {
    render_page(
        MessagePage {
            layout: PublicLayout::new(state, "Page not found"),
            heading: "Page not found".into(),
            lines: vec!["If you typed the web address, check it is correct.".into()],
            link: Some(("/".into(), "Go to the start page".into())),
        },
        StatusCode::NOT_FOUND,
    )
}

/// One service as the public reads it.
pub struct PublicService {
    pub name: String,
    pub about: String,
    pub contact: String,
}

#[derive(Template)]
#[template(path = "public_support.html")]
struct SupportPage {
    layout: PublicLayout,
    groups: Vec<(String, Vec<PublicService>)>,
}

/// The support directory in plain language, grouped by what it helps with.
pub(crate) async fn support(State(state): State<AppState>) -> Response {
    let mut groups = Vec::new();
    for (need, label) in crate::support::NEEDS {
        let services: Vec<PublicService> = state
            .support
            .services
            .iter()
            .filter(|s| s.need == need && !s.about.is_empty())
            .map(|s| PublicService { name: s.name.clone(), about: s.about.clone(), contact: s.contact.clone() })
            .collect();
        if !services.is_empty() {
            groups.push((label.to_owned(), services));
        }
    }
    render_page(SupportPage { layout: PublicLayout::new(&state, "Help and support"), groups }, StatusCode::OK)
}

/// "Leave this site" without JavaScript: a plain redirect to the everyday page.
pub(crate) async fn leave(State(state): State<AppState>) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, state.cfg.public.exit_url.clone())]).into_response()
}

/// The public site's script (every page works without it): the quick exit also replaces this
/// page in the history and leaves on Escape pressed three times; a form's error summary takes
/// the focus.
pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/public.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_pages_render_and_raw_html_is_escaped() {
        let c = Content::built_in().unwrap();
        assert_eq!(c.page("start").unwrap().title, "Worried about a child?");
        assert!(c.page("young-people-easy-read").unwrap().easy_read);
        let html = markdown("Hello <script>alert(1)</script> **there**\n\n<div>x</div>");
        assert!(!html.contains("<script>") && !html.contains("<div>"), "{html}");
        assert!(html.contains("&lt;script&gt;") && html.contains("<strong>there</strong>"), "{html}");
    }

    #[test]
    fn a_content_directory_with_a_mistake_names_the_file() {
        let dir = std::env::temp_dir().join(format!("fd-content-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("start.md"), "# Start\n\nHello").unwrap();
        std::fs::write(dir.join("parents.md"), "No title here\n").unwrap();
        let e = Content::from_dir(dir.to_str().unwrap()).unwrap_err();
        assert!(e.contains("parents.md:1: a page starts with its title"), "{e}");
        std::fs::write(dir.join("parents.md"), "# Parents\n").unwrap();
        assert_eq!(Content::from_dir(dir.to_str().unwrap()).unwrap().page("parents").unwrap().title, "Parents");
        std::fs::remove_file(dir.join("start.md")).unwrap();
        assert!(Content::from_dir(dir.to_str().unwrap()).unwrap_err().contains("no start.md"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
