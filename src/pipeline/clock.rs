//! The packet clock: the largest timestamp seen, which ends idle flows and expires fragments.
//!
//! Invariant: one frame cannot move it far. A timestamp more than [`MAX_CLOCK_JUMP_NS`] ahead
//! of the clock (one forged frame dated next year would otherwise end every live flow) is
//! ignored and counted, unless [`CLOCK_JUMP_CONFIRM`] frames in a row are that far ahead — a
//! capture resumed after a pause, or files read one after the other — then the clock moves to
//! the earliest of them. The first frame sets the clock; the live tick (wall clock) is trusted.

/// How far ahead of the packet clock one frame's timestamp may be and still move it.
pub const MAX_CLOCK_JUMP_NS: i64 = 3600 * 1_000_000_000;
/// Frames in a row beyond [`MAX_CLOCK_JUMP_NS`] that make the jump real.
pub const CLOCK_JUMP_CONFIRM: u32 = 64;

#[derive(Debug, Clone)]
pub struct PacketClock {
    now_ns: i64,
    /// Frames in a row beyond the jump limit, and the earliest of their timestamps.
    jump_frames: u32,
    jump_min: i64,
}

impl Default for PacketClock {
    fn default() -> Self {
        PacketClock { now_ns: i64::MIN, jump_frames: 0, jump_min: i64::MAX }
    }
}

impl PacketClock {
    /// `i64::MIN` until the first frame or tick.
    pub fn now_ns(&self) -> i64 {
        self.now_ns
    }

    /// A frame's timestamp; returns false when it was ignored as an implausible jump.
    pub fn observe(&mut self, ts_ns: i64) -> bool {
        if self.now_ns == i64::MIN || ts_ns <= self.now_ns.saturating_add(MAX_CLOCK_JUMP_NS) {
            self.now_ns = self.now_ns.max(ts_ns);
            self.jump_frames = 0;
            self.jump_min = i64::MAX;
            return true;
        }
        self.jump_frames += 1;
        self.jump_min = self.jump_min.min(ts_ns);
        if self.jump_frames < CLOCK_JUMP_CONFIRM {
            return false;
        }
        self.now_ns = self.jump_min;
        self.jump_frames = 0;
        self.jump_min = i64::MAX;
        true
    }

    /// A trusted time (the live tick): moves the clock forward, never back.
    pub fn advance(&mut self, now_ns: i64) {
        self.now_ns = self.now_ns.max(now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    // Regression (issue 15): one forged timestamp far in the future ended every live flow.
    #[test]
    fn one_forged_timestamp_does_not_move_the_clock() {
        let mut c = PacketClock::default();
        assert!(c.observe(1_000 * S));
        assert!(c.observe(1_001 * S));
        assert!(!c.observe(1_001 * S + 10 * 365 * 86_400 * S), "ten years ahead: ignored");
        assert_eq!(c.now_ns(), 1_001 * S);
        assert!(c.observe(1_002 * S));
        assert_eq!(c.now_ns(), 1_002 * S);
        assert!(c.observe(1_002 * S + MAX_CLOCK_JUMP_NS - S), "under the limit moves it");
    }

    #[test]
    fn a_jump_confirmed_by_many_frames_is_taken() {
        let mut c = PacketClock::default();
        c.observe(0);
        let later = 86_400 * S;
        let ignored = (0..CLOCK_JUMP_CONFIRM).filter(|i| !c.observe(later + i64::from(*i))).count();
        assert_eq!(ignored as u32, CLOCK_JUMP_CONFIRM - 1);
        assert_eq!(c.now_ns(), later, "the earliest of the confirming frames");
    }
}
