//! Details that follow the cursor, at a bounded cost. The first move asks for the new row's
//! details at once; moves after it, until the next tick (250 ms), only leave them owed, and
//! the tick asks for the row the cursor is on then. Holding `j` over a thousand rows thus
//! costs about four requests a second, not one per row, and a single press still answers
//! at once.

#[derive(Debug, Default)]
pub struct Follow {
    /// A request went out since the last tick.
    spent: bool,
    /// The cursor moved after that: the tick asks for the details.
    owed: bool,
}

impl Follow {
    /// The cursor moved: whether its row's details may be asked for now.
    pub fn moved(&mut self) -> bool {
        if self.spent {
            self.owed = true;
            false
        } else {
            self.spent = true;
            true
        }
    }

    /// A tick passed: whether the details owed since the last one are asked for now.
    pub fn tick(&mut self) -> bool {
        self.spent = std::mem::take(&mut self.owed);
        self.spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_move_asks_at_once() {
        let mut follow = Follow::default();
        assert!(follow.moved());
        assert!(!follow.tick(), "nothing owed");
        assert!(
            follow.moved(),
            "the next tick's first move asks at once again"
        );
    }

    #[test]
    fn a_held_key_asks_once_a_tick_and_for_where_it_stopped() {
        let mut follow = Follow::default();
        let mut asked = 0;
        for tick in 0..4 {
            for _ in 0..10 {
                asked += usize::from(follow.moved());
            }
            asked += usize::from(follow.tick());
            assert!(asked <= 2 * (tick + 1), "{asked} requests by tick {tick}");
        }
        // The key is let go: the last tick asked for where the cursor stopped, and the
        // one after has nothing owed.
        assert!(!follow.tick());
    }
}
