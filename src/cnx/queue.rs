//! ZooKeeper's drop-oldest bounded queues on crossbeam channels (spec 2.5).

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// Puts `item` on a bounded channel; when it is full the oldest element is
/// taken out first, so the newest always gets in (ZooKeeper's
/// CircularBlockingQueue). Returns how many elements were discarded.
pub(crate) fn push_drop_oldest<T>(tx: &Sender<T>, rx: &Receiver<T>, mut item: T) -> usize {
    let mut dropped = 0;
    loop {
        match tx.try_send(item) {
            Ok(()) => return dropped,
            Err(TrySendError::Full(back)) => {
                if rx.try_recv().is_ok() {
                    dropped += 1;
                }
                item = back;
            }
            Err(TrySendError::Disconnected(_)) => return dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;

    #[test]
    fn newest_wins_in_a_queue_of_one() {
        let (tx, rx) = bounded(1);
        assert_eq!(push_drop_oldest(&tx, &rx, 1), 0);
        assert_eq!(push_drop_oldest(&tx, &rx, 2), 1);
        assert_eq!(rx.try_recv(), Ok(2));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn oldest_dropped_in_a_queue_of_hundred() {
        let (tx, rx) = bounded(100);
        for i in 0..150 {
            push_drop_oldest(&tx, &rx, i);
        }
        let got: Vec<i32> = rx.try_iter().collect();
        assert_eq!(got, (50..150).collect::<Vec<_>>());
    }
}
