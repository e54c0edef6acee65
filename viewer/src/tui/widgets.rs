//! Drawing pieces shared by views, with no state of their own beyond what they draw.

pub mod scatter;
