package canary

import "time"

// dispersion estimates how much more a cohort's event counts vary than
// binomial counts would: Pearson's chi-square of block counts over its
// degrees of freedom, with blocks of at least DispersionBlock of
// observations. Rate multipliers that drift (time of day, a noisy
// dependency, retries in bursts) inflate it; independent requests give
// about 1.
//
// It is estimated on the baseline (the canary's own counts would mistake
// a regression for noise) and carried to the canary by scale: the extra
// variance of a block's count grows with its expected events, so a cohort
// with a share s of the baseline's traffic gets 1 + (phi - 1) s.
type dispersion struct {
	curN, curX float64
	curDT      time.Duration
	n, x       []float64 // completed blocks
	// phi's result, for the blocks it was computed from (it changes
	// only when a block completes, once a minute; it is asked at every
	// observation, and a long bake has hundreds of blocks).
	memoBlocks      int
	memoPhi, memoBN float64
}

// DispersionBlock is the block length of the dispersion estimate, and
// DispersionMinBlocks the blocks it needs before it says anything but 1.
// The estimate is capped at DispersionMax.
const (
	DispersionBlock     = time.Minute
	DispersionMinBlocks = 5
	DispersionMax       = 100.0
)

func (d *dispersion) add(n, x float64, dt time.Duration) {
	d.curN += n
	d.curX += x
	d.curDT += dt
	if d.curDT >= DispersionBlock {
		if d.curN > 0 {
			d.n = append(d.n, d.curN)
			d.x = append(d.x, d.curX)
		}
		d.curN, d.curX, d.curDT = 0, 0, 0
	}
}

// phi is the baseline's dispersion (>= 1) and the mean block size in
// requests it was measured at (0 when there are too few blocks).
func (d *dispersion) phi() (phi, blockN float64) {
	if d.memoBlocks != len(d.n) || d.memoPhi == 0 {
		d.memoPhi, d.memoBN = d.phiOf()
		d.memoBlocks = len(d.n)
	}
	return d.memoPhi, d.memoBN
}

func (d *dispersion) phiOf() (phi, blockN float64) {
	m := len(d.n)
	if m < DispersionMinBlocks {
		return 1, 0
	}
	var sn, sx float64
	for i := range d.n {
		sn += d.n[i]
		sx += d.x[i]
	}
	p := sx / sn
	if p <= 0 || p >= 1 {
		return 1, sn / float64(m)
	}
	var chi float64
	for i := range d.n {
		e := d.n[i] * p
		r := d.x[i] - e
		chi += r * r / (e * (1 - p))
	}
	return min(max(chi/float64(m-1), 1), DispersionMax), sn / float64(m)
}

// phiFor is the dispersion of a cohort serving share times the
// baseline's requests (share 1: the baseline's).
func (d *dispersion) phiFor(share float64) float64 {
	phi, _ := d.phi()
	return 1 + (phi-1)*max(share, 0)
}
