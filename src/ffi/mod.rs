//! Everything that crosses into C: the operating-system calls the library
//! and the command need, and (later) the exported C ABI. The only `unsafe`
//! code of the crate lives here.

pub mod os;
