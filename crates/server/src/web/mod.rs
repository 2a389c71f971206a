//! The public web pages, server-rendered HTML without script: a brand's page (who it is, the
//! numbers it calls from, what it never asks for, how to check and report a call, opting out
//! of its marketing) and the same facts as JSON; its check page, where a customer asks whether
//! a call really is the brand's and reports one that was not; a phone-screen preview of what a
//! called party is shown for a call's Identity headers, and a brand's demo of it.
//!
//! Not a template engine: [`html`] escapes every value and wraps pages in one shell with a
//! strict Content-Security-Policy. Routes are listed in [`crate::rest::endpoints`].
//!
//! | route | page |
//! | --- | --- |
//! | `GET /brands/{slug}` | the brand's page ([`brand::page`]); `/brands/{slug}.json`: as JSON |
//! | `POST /brands/{slug}/opt-out` | records an opt-out of marketing calls ([`brand::opt_out`]) |
//! | `GET /brands/{slug}/preview?reason=CODE` | the brand's phone screen, a demo ([`preview::brand_demo`]) |
//! | `GET`, `POST /brands/{slug}/check` | is the brand really calling me? by the numbers or a one-time code ([`check::form`], [`check::submit`]) |
//! | `GET`, `POST /brands/{slug}/report` | reports a call that claimed to be the brand ([`check::report_form`], [`check::report`]) |
//! | `GET`, `POST /preview` | verifies Identity headers and shows the phone screen ([`preview::form`], [`preview::submit`]) |

pub mod brand;
pub mod check;
pub mod html;
pub mod numbers;
pub mod preview;
