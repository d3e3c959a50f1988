//! zoo.cfg parsing (spec 6). Placeholder.
