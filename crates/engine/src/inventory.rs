//! The inventory in memory: who a caller is (trunk address or API key), which customer owns
//! a number, and the attestation that follows (DESIGN: A the customer owns the number, B a
//! known customer with a number not theirs, C a gateway call from no known customer).
//!
//! An [`InventoryIndex`] is immutable and built from one store snapshot; [`InventoryCache`]
//! swaps in a new one when the store's version moves, so lookups on the call path take no
//! lock and touch no database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use ipnet::IpNet;
use passport::TelephoneNumber;
use passport::claims::Attestation;
use store::{Customer, CustomerId, Inventory, Scope, Store, StoreError};

use crate::ranges::RangeMap;

/// Who sent a request, as far as the inventory can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The customer, when known.
    pub customer: Option<Customer>,
    /// What the caller may do.
    pub scopes: Vec<Scope>,
}

/// An immutable index over one inventory snapshot.
#[derive(Debug, Default)]
pub struct InventoryIndex {
    version: i64,
    customers: HashMap<CustomerId, Customer>,
    /// Number blocks and their owners.
    blocks: RangeMap<CustomerId>,
    /// Trunks, most specific prefix first.
    trunks: Vec<(IpNet, CustomerId)>,
    /// Hex SHA-256 of the key -> (customer, scopes).
    api_keys: HashMap<String, (Option<CustomerId>, Vec<Scope>)>,
    /// Entries that could not be used (bad CIDR), for the operator's logs.
    problems: Vec<String>,
}

impl InventoryIndex {
    /// Builds the index.
    pub fn new(inventory: Inventory) -> Self {
        let mut index = Self {
            version: inventory.version,
            ..Self::default()
        };
        for c in inventory.customers {
            index.customers.insert(c.id, c);
        }
        index.blocks = RangeMap::new(inventory.blocks.iter().map(|o| (o.block, o.customer)));
        for t in inventory.trunks {
            match parse_net(&t.cidr) {
                Some(net) => index.trunks.push((net, t.customer)),
                None => index.problems.push(format!(
                    "trunk {:?} of customer {} is not an address or CIDR",
                    t.cidr, t.customer
                )),
            }
        }
        index
            .trunks
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        for k in inventory.api_keys {
            index.api_keys.insert(k.hash, (k.customer, k.scopes));
        }
        index
    }

    /// The store version this index was built from.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Problems found while building (unusable entries).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// A customer by id.
    pub fn customer(&self, id: CustomerId) -> Option<&Customer> {
        self.customers.get(&id)
    }

    /// A customer by name.
    pub fn customer_by_name(&self, name: &str) -> Option<&Customer> {
        self.customers.values().find(|c| c.name == name)
    }

    /// The owner of a number.
    pub fn owner(&self, tn: &TelephoneNumber) -> Option<CustomerId> {
        self.blocks.get(tn).copied()
    }

    /// The customer whose trunk covers a source address.
    pub fn caller_by_address(&self, addr: IpAddr) -> Option<&Customer> {
        let addr = canonical_ip(addr);
        self.trunks
            .iter()
            .find(|(net, _)| net.contains(&addr))
            .and_then(|(_, c)| self.customers.get(c))
    }

    /// The caller behind an API key (given in full; compared by its SHA-256).
    pub fn caller_by_api_key(&self, key: &str) -> Option<Caller> {
        let (customer, scopes) = self.api_keys.get(&hash_api_key(key))?;
        Some(Caller {
            customer: customer.and_then(|c| self.customers.get(&c)).cloned(),
            scopes: scopes.clone(),
        })
    }

    /// The attestation a customer earns for calling from `orig`.
    pub fn attestation(&self, customer: Option<CustomerId>, orig: &TelephoneNumber) -> Attestation {
        match customer {
            None => Attestation::C,
            Some(c) if self.owner(orig) == Some(c) => Attestation::A,
            Some(_) => Attestation::B,
        }
    }
}

/// Hex SHA-256 of an API key, as stored.
pub fn hash_api_key(key: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

/// IPv4-mapped IPv6 addresses (from dual-stack sockets) compare as IPv4.
fn canonical_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The current inventory index, refreshed from the store when its version moves.
#[derive(Debug, Clone)]
pub struct InventoryCache {
    current: Arc<ArcSwap<InventoryIndex>>,
}

impl InventoryCache {
    /// Loads the inventory once.
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let index = InventoryIndex::new(store.inventory().await?);
        Ok(Self {
            current: Arc::new(ArcSwap::from_pointee(index)),
        })
    }

    /// The index in force.
    pub fn get(&self) -> Arc<InventoryIndex> {
        self.current.load_full()
    }

    /// Reloads when the store's version differs from the index's; returns whether it did.
    pub async fn refresh(&self, store: &dyn Store) -> Result<bool, StoreError> {
        let version = store.inventory_version().await?;
        if version == self.current.load().version() {
            return Ok(false);
        }
        let index = InventoryIndex::new(store.inventory().await?);
        self.current.store(Arc::new(index));
        Ok(true)
    }

    /// Polls the store every `period` until `stop` resolves. Errors are returned to the
    /// caller's callback (for logging) and polling goes on.
    pub async fn poll(
        &self,
        store: Arc<dyn Store>,
        period: Duration,
        mut on_error: impl FnMut(StoreError) + Send,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let mut stop = std::pin::pin!(stop);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {
                    if let Err(e) = self.refresh(store.as_ref()).await {
                        on_error(e);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{ApiKeyRecord, NumberBlock, OwnedBlock, Trunk};

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::parse(s).unwrap()
    }

    fn index() -> InventoryIndex {
        let c = |id, name: &str| Customer {
            id: CustomerId(id),
            name: name.into(),
            origid: format!("origid-{id}"),
        };
        let b = |id, start: &str, count| OwnedBlock {
            customer: CustomerId(id),
            block: NumberBlock::new(tn(start), count).unwrap(),
        };
        InventoryIndex::new(Inventory {
            version: 7,
            customers: vec![c(1, "acme"), c(2, "bravo")],
            trunks: vec![
                Trunk {
                    customer: CustomerId(1),
                    cidr: "192.0.2.0/24".into(),
                },
                Trunk {
                    customer: CustomerId(2),
                    cidr: "192.0.2.77".into(),
                },
                Trunk {
                    customer: CustomerId(2),
                    cidr: "2001:db8::/32".into(),
                },
                Trunk {
                    customer: CustomerId(2),
                    cidr: "not-an-address".into(),
                },
            ],
            blocks: vec![
                b(1, "12155550000", 10_000),
                b(2, "12155560000", 1),
                b(2, "442071234567", 1),
            ],
            api_keys: vec![ApiKeyRecord {
                id: 1,
                customer: Some(CustomerId(2)),
                name: "k".into(),
                prefix: "cp_".into(),
                hash: hash_api_key("cp_secret"),
                scopes: vec![Scope::Sign],
                revoked: false,
            }],
        })
    }

    #[test]
    fn numbers_resolve_to_their_owner() {
        let i = index();
        assert_eq!(i.owner(&tn("12155550000")), Some(CustomerId(1)));
        assert_eq!(i.owner(&tn("12155559999")), Some(CustomerId(1)));
        assert_eq!(i.owner(&tn("12155560000")), Some(CustomerId(2)));
        assert_eq!(i.owner(&tn("12155560001")), None);
        assert_eq!(i.owner(&tn("12155549999")), None);
        assert_eq!(i.owner(&tn("442071234567")), Some(CustomerId(2)));
        assert_eq!(i.owner(&tn("2155550000")), None);
        assert_eq!(i.owner(&tn("*67")), None);
    }

    #[test]
    fn attestation_follows_ownership() {
        let i = index();
        assert_eq!(
            i.attestation(Some(CustomerId(1)), &tn("12155551212")),
            Attestation::A
        );
        assert_eq!(
            i.attestation(Some(CustomerId(2)), &tn("12155551212")),
            Attestation::B
        );
        assert_eq!(i.attestation(None, &tn("12155551212")), Attestation::C);
    }

    #[test]
    fn callers_are_found_by_most_specific_trunk_and_by_key() {
        let i = index();
        let name = |a: &str| {
            i.caller_by_address(a.parse().unwrap())
                .map(|c| c.name.clone())
        };
        assert_eq!(name("192.0.2.10").as_deref(), Some("acme"));
        assert_eq!(
            name("192.0.2.77").as_deref(),
            Some("bravo"),
            "the /32 wins over the /24"
        );
        assert_eq!(
            name("::ffff:192.0.2.10").as_deref(),
            Some("acme"),
            "v4-mapped addresses match v4 trunks"
        );
        assert_eq!(name("2001:db8::5").as_deref(), Some("bravo"));
        assert_eq!(name("198.51.100.1"), None);
        assert_eq!(i.problems().len(), 1);
        let caller = i.caller_by_api_key("cp_secret").unwrap();
        assert_eq!(caller.customer.unwrap().name, "bravo");
        assert_eq!(caller.scopes, vec![Scope::Sign]);
        assert!(i.caller_by_api_key("cp_wrong").is_none());
    }
}
