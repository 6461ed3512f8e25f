//! DNS metadata: message parsing over UDP and TCP, names with compression pointers, and
//! query/response matching by transaction id. Parsing allocates nothing: names and
//! answers live in fixed arrays.

mod error;
mod message;
mod name;
mod tcp;
mod transactions;

#[cfg(test)]
mod tests;

pub use error::DnsError;
pub use message::{
    Answer, AnswerData, Answers, DnsFlags, DnsMessage, MAX_ANSWERS, Question, parse_message,
    parse_message_into, rcode, rtype,
};
pub use name::{DnsName, Labels, MAX_LABEL_BYTES, MAX_NAME_BYTES};
pub use tcp::{DEFAULT_TCP_BUFFER_BYTES, TcpDnsBuffer};
pub use transactions::{
    DEFAULT_PENDING_QUERIES, DEFAULT_QUERY_TIMEOUT_NS, DnsExchange, DnsTransactionCounters,
    DnsTransactions,
};

/// Parser counters, cumulative since creation. One set per worker thread; merge them at
/// scrape time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsCounters {
    /// Messages parsed, partial ones included.
    pub parsed: u64,
    /// Parsed messages marked partial.
    pub partial: u64,
    /// Rejected messages by reason, indexed by `DnsError as usize`.
    pub rejected: [u64; DnsError::COUNT],
}

impl DnsCounters {
    /// Counts the outcome of one [`parse_message`] call.
    pub fn record(&mut self, result: &Result<DnsMessage, DnsError>) {
        match result {
            Ok(message) => {
                self.parsed += 1;
                self.partial += u64::from(message.partial);
            }
            Err(reason) => {
                if let Some(count) = self.rejected.get_mut(*reason as usize) {
                    *count += 1;
                }
            }
        }
    }

    /// Adds `other` to these counters (to sum the workers).
    pub fn merge(&mut self, other: &DnsCounters) {
        self.parsed += other.parsed;
        self.partial += other.partial;
        for (total, count) in self.rejected.iter_mut().zip(other.rejected) {
            *total += count;
        }
    }
}
