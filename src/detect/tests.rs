use super::*;

/// Raises one alert per tick that saw packets.
struct CountPackets(u64);

impl Detector for CountPackets {
    fn name(&self) -> &'static str {
        "count_packets"
    }
    fn packet(&mut self, _p: &Packet<'_>, _alerts: &mut Vec<Alert>) {
        self.0 += 1;
    }
    fn tick(&mut self, now_ns: i64, alerts: &mut Vec<Alert>) {
        if self.0 > 0 {
            alerts.push(Alert {
                ts_ns: now_ns,
                detector: self.name(),
                message: format!("{} packets", self.0),
                community_id: None,
            });
            self.0 = 0;
        }
    }
}

#[test]
fn empty_stage_raises_nothing_and_owns_no_memory() {
    let mut s = DetectStage::from_config();
    assert!(s.is_empty());
    s.tick(1);
    assert_eq!(s.take_alerts().count(), 0);
    assert_eq!(s.alerts.capacity(), 0);
}

#[test]
fn a_detector_sees_ticks_and_its_alerts_come_out_as_events() {
    let mut s = DetectStage::new(vec![Box::new(CountPackets(3))]);
    s.tick(1_700_000_000_000_000_000);
    let alerts: Vec<Alert> = s.take_alerts().collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "3 packets");
    s.tick(1_700_000_001_000_000_000);
    assert_eq!(s.take_alerts().count(), 0, "taken once");
    let ctx =
        EventContext::new(None, Some("agent-1"), "default", vec![], vec![], Default::default());
    let ev = alerts[0].encode(&ctx);
    let v: serde_json::Value = serde_json::from_slice(&ev.json).unwrap();
    assert_eq!(v["event"]["kind"], "alert");
    assert_eq!(v["rule"]["name"], "count_packets");
    assert_eq!(ev.dataset, DATASET_ALERT);
}
