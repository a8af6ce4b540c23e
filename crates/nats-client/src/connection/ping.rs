//! Client keep-alive (R37–R39): every `ping_interval` the outstanding-ping count goes up; past
//! `max_pings_out` the connection is stale, otherwise a PING is sent. Any PONG resets the count.

/// What a ping tick asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    SendPing,
    Stale,
}

/// The decision for one tick, given the pings outstanding *after* counting this tick.
/// `max_pings_out` 0 means the default of 2 (R38).
pub(crate) fn on_tick(outstanding: u32, max_pings_out: u32) -> Tick {
    let max = if max_pings_out == 0 { 2 } else { max_pings_out };
    if outstanding > max {
        Tick::Stale
    } else {
        Tick::SendPing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r37_stale_after_max_pings_out_unanswered() {
        assert_eq!(on_tick(1, 2), Tick::SendPing);
        assert_eq!(on_tick(2, 2), Tick::SendPing);
        assert_eq!(on_tick(3, 2), Tick::Stale);
    }

    #[test]
    fn r38_zero_means_two() {
        assert_eq!(on_tick(2, 0), Tick::SendPing);
        assert_eq!(on_tick(3, 0), Tick::Stale);
    }
}
