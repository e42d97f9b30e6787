//! The hot loop allocates nothing: once a world's buffers have grown (a few warm-up paths),
//! whole B2 paths run without a single heap allocation, for every policy.

use headroom_market::EventSink;
use headroom_pnsplit::{b2, Execution, PnSpec, RollPolicy};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn paths_allocate_nothing_after_warm_up() {
    let specs = [
        b2::spec(),
        PnSpec {
            execution: Execution::Twap { slices: 4 },
            roll_before_days: 3.0,
            p_drift_every_steps: 24,
            ..b2::spec()
        },
        PnSpec { policy: RollPolicy::Band, band_delta: Some(0.3), ..b2::spec() },
        PnSpec {
            policy: RollPolicy::Calendar,
            calendar_every_steps: Some(100),
            maturity_days: Some(10.0),
            ..b2::spec()
        },
    ];
    for spec in specs {
        let mut d = b2::Driver::new(&spec, 8).unwrap();
        let mut sink = EventSink::new(false);
        for p in 0..10 {
            d.run_path(p, &mut sink);
        }
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for p in 10..20 {
            d.run_path(p, &mut sink);
        }
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        assert_eq!(after - before, 0, "{:?}: {} allocations in 10 paths", spec.policy, after - before);
    }
}
