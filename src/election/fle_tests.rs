//! Rule-by-rule tests of the state machine (filled in separately).
