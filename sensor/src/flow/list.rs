//! Intrusive doubly linked lists over slot indices, for the flow table's time-ordered
//! queues. Links live in a separate vector indexed like the flows, so moving a flow to
//! the tail is O(1) and never allocates.

pub(crate) const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    prev: u32,
    next: u32,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            prev: NIL,
            next: NIL,
        }
    }
}

/// The two ends of one list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct List {
    head: u32,
    tail: u32,
}

impl Default for List {
    fn default() -> Self {
        List {
            head: NIL,
            tail: NIL,
        }
    }
}

impl List {
    pub(crate) fn head(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }

    /// Appends slot `i`, which must be in no list that uses `links`.
    pub(crate) fn push_back(&mut self, links: &mut [Link], i: u32) {
        let old_tail = self.tail;
        if let Some(link) = links.get_mut(i as usize) {
            *link = Link {
                prev: old_tail,
                next: NIL,
            };
        }
        match links.get_mut(old_tail as usize) {
            Some(tail) => tail.next = i,
            None => self.head = i,
        }
        self.tail = i;
    }

    /// Removes slot `i`, which must be in this list.
    pub(crate) fn unlink(&mut self, links: &mut [Link], i: u32) {
        let Some(&Link { prev, next }) = links.get(i as usize) else {
            return;
        };
        match links.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match links.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        if let Some(link) = links.get_mut(i as usize) {
            *link = Link::default();
        }
    }

    /// Moves slot `i` (in this list) to the tail.
    pub(crate) fn move_to_back(&mut self, links: &mut [Link], i: u32) {
        if self.tail != i {
            self.unlink(links, i);
            self.push_back(links, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(list: &List, links: &[Link]) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = list.head;
        while at != NIL {
            out.push(at);
            at = links[at as usize].next;
        }
        out
    }

    #[test]
    fn list_push_unlink_move() {
        let mut links = vec![Link::default(); 4];
        let mut list = List::default();
        for i in 0..4 {
            list.push_back(&mut links, i);
        }
        list.unlink(&mut links, 2);
        assert_eq!(collect(&list, &links), [0, 1, 3]);
        list.move_to_back(&mut links, 0);
        assert_eq!(collect(&list, &links), [1, 3, 0]);
        list.unlink(&mut links, 1);
        list.unlink(&mut links, 0);
        list.unlink(&mut links, 3);
        assert_eq!(list.head(), None);
    }
}
