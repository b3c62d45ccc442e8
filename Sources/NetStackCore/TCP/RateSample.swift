// What one ACK tells the sender about the path: the delivery-rate sample of
// draft-ietf-ccwg-bbr §4.5 ("rs", from draft-cheng-iccrg-delivery-rate-estimation)
// plus the loss and flight counts a model-based controller needs. The loss
// detector (RACK, SACK scoreboard) fills one per ACK from the per-segment
// transmission records; controllers (BBR) and pacing read it. A plain value:
// filling and passing it costs nothing on the heap.

/// The delivery-rate sample and flight accounting of one ACK.
///
/// Rates are bytes per second; times are nanoseconds; counts are bytes. A
/// sample with `interval == 0` carries no rate (the ACK delivered nothing
/// that was sent after the connection's rate clock started).
struct RateSample: Sendable, Equatable {
    /// Bytes delivered over the sample's interval divided by that interval (rs.delivery_rate).
    var deliveryRate = 0
    /// The sampled segment was sent while the flow was application-limited (rs.is_app_limited):
    /// a low rate proves nothing about the path, a high one does.
    var isAppLimited = false
    /// The sample's interval: max(send elapsed, ACK elapsed) (rs.interval), nanoseconds.
    var intervalNanoseconds: Int64 = 0
    /// Bytes delivered over the interval (rs.delivered = C.delivered − P.delivered).
    var delivered = 0
    /// C.delivered when the sampled segment was sent (rs.prior_delivered).
    var priorDelivered = 0
    /// RTT of the most recently sent segment this ACK delivered, nanoseconds; −1 when none
    /// (retransmitted segments give none unless timestamps disambiguate them).
    var rttNanoseconds: Int64 = -1
    /// Bytes in flight when the sampled segment was sent (rs.tx_in_flight).
    var txInFlight = 0
    /// Bytes marked lost over the interval (rs.lost = C.lost − P.lost).
    var lost = 0
    /// Bytes this ACK newly delivered, cumulatively or by SACK (rs.newly_acked).
    var newlyAcked = 0
    /// Bytes this ACK newly marked lost (rs.newly_lost).
    var newlyLost = 0
    /// Bytes in flight before this ACK was processed (C.inflight before; PRR's prior pipe).
    var priorInFlight = 0
    /// Bytes in flight after this ACK was processed and losses marked (C.inflight).
    var inFlight = 0
    /// Total bytes delivered over the connection's life, after this ACK (C.delivered).
    var totalDelivered = 0
    /// Total bytes marked lost over the connection's life, after this ACK (C.lost).
    var totalLost = 0
}
