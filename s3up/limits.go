package s3up

import (
	"fmt"

	"github.com/dustin/go-humanize"
	"github.com/s3up/s3up/s3up/store"
)

// S3 multipart limits. Every S3-compatible store we target accepts these; a
// store with tighter limits reports its own error, which is surfaced as is.
const (
	// MinPartSize is the smallest size of every part but the last.
	MinPartSize int64 = 5 << 20
	// MaxPartSize is the largest size of a single part.
	MaxPartSize int64 = 5 << 30
	// MaxParts is the largest part number S3 accepts.
	MaxParts = 10000
	// MaxObjectSize is the largest object the part limits allow (MaxParts parts
	// of MaxPartSize, about 48.8 TiB; AWS raised its object limit to 50 TB in
	// December 2025). A store with a lower limit refuses the upload itself.
	MaxObjectSize = MaxPartSize * MaxParts

	// DefaultPartSize is used when Options.PartSize is zero.
	DefaultPartSize int64 = 16 << 20
	// DefaultConcurrency is used when Options.Concurrency is zero.
	DefaultConcurrency = 4
	// MaxConcurrency bounds --concurrency: stores throttle well before this.
	MaxConcurrency = 64

	// partSizeStep is the granularity used when the planner has to raise the
	// part size: whole MiB keep the plan readable in status output.
	partSizeStep int64 = 1 << 20
)

// Plan is how a file of Size bytes is cut into parts.
type Plan struct {
	Size         int64 // bytes in the file
	PartSize     int64 // size of every part but the last
	Count        int32 // number of parts; 0 for an empty file
	LastPartSize int64 // size of part Count
	Raised       bool  // the requested part size was raised to stay within MaxParts
}

// PartSizeOf returns the size of part n (1-based).
func (p Plan) PartSizeOf(n int32) int64 {
	if n == p.Count {
		return p.LastPartSize
	}
	return p.PartSize
}

// Offset returns the file offset of part n (1-based).
func (p Plan) Offset(n int32) int64 { return int64(n-1) * p.PartSize }

// PlanParts cuts size bytes into parts of partSize (0 means DefaultPartSize).
//
// When the file would need more than MaxParts parts, the part size is raised
// to the smallest whole MiB that fits, but only if the caller did not ask for
// an explicit size (explicit=false): an explicit size that cannot work is the
// user's mistake and is reported, so a backup never silently changes shape.
func PlanParts(size, partSize int64, explicit bool) (Plan, error) {
	return planParts(size, partSize, explicit, MinPartSize)
}

// planParts is PlanParts with floor as the smallest part size allowed.
func planParts(size, partSize int64, explicit bool, floor int64) (Plan, error) {
	if size < 0 {
		return Plan{}, fmt.Errorf("%w: negative file size %d", ErrBadInput, size)
	}
	if size > MaxObjectSize {
		return Plan{}, fmt.Errorf("%w: file is %s, more than %d parts of %s can hold",
			ErrBadInput, humanize.IBytes(uint64(size)), MaxParts, humanize.IBytes(uint64(MaxPartSize)))
	}
	if partSize == 0 {
		partSize = DefaultPartSize
		explicit = false
	}
	if err := validatePartSize(partSize, floor); err != nil {
		return Plan{}, err
	}
	p := Plan{Size: size, PartSize: partSize}
	if size == 0 {
		return p, nil
	}
	if ceilDiv(size, partSize) > MaxParts {
		need := ceilDiv(ceilDiv(size, MaxParts), partSizeStep) * partSizeStep
		if explicit {
			return Plan{}, store.WithHint(fmt.Errorf("%w: part size %s would need %d parts for a %s file (S3 allows %d); %s or more works, and so does none (it is chosen then)",
				ErrBadInput, humanize.IBytes(uint64(partSize)), ceilDiv(size, partSize),
				humanize.IBytes(uint64(size)), MaxParts, humanize.IBytes(uint64(need))), store.HintPartSize)
		}
		p.PartSize = need
		p.Raised = true
	}
	p.Count = int32(ceilDiv(size, p.PartSize))
	p.LastPartSize = size - int64(p.Count-1)*p.PartSize
	return p, nil
}

// ValidatePartSize reports whether n is a part size S3 accepts.
func ValidatePartSize(n int64) error { return validatePartSize(n, MinPartSize) }

// validatePartSize is ValidatePartSize with floor as the smallest size.
func validatePartSize(n, floor int64) error {
	if n < floor {
		whose := "the store's minimum"
		if floor == MinPartSize {
			whose = "the S3 minimum"
		}
		return fmt.Errorf("%w: part size %s is below %s of %s",
			ErrBadInput, humanize.IBytes(uint64(max(n, 0))), whose, humanize.IBytes(uint64(floor)))
	}
	if n > MaxPartSize {
		return fmt.Errorf("%w: part size %s is above the S3 maximum of %s",
			ErrBadInput, humanize.IBytes(uint64(n)), humanize.IBytes(uint64(MaxPartSize)))
	}
	return nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// streamGrowth is how a stream of unknown length grows its parts: each part
// is at least 1/streamGrowth of the bytes read before it.
const streamGrowth = 1000

// StreamPartSize is the size of the next part of a stream of unknown length
// after sent bytes: base (DefaultPartSize for 0) until the stream has grown
// past base×1000, then a thousandth of the bytes so far, in whole MiB, at
// most MaxPartSize. A stream never reaches part 10,001 below
// StreamCapacity(base) (about 20 TiB with 16 MiB parts), and memory, which
// holds the parts in flight, grows with the stream only once it is large:
// a 100 GiB stream sends parts of about 100 MiB, a 1 TiB stream of 1 GiB.
func StreamPartSize(base, sent int64) int64 {
	if base == 0 {
		base = DefaultPartSize
	}
	size := sent / streamGrowth
	if size <= base {
		return base
	}
	return min(ceilDiv(size, partSizeStep)*partSizeStep, MaxPartSize)
}

// StreamCapacity is the largest stream whose parts (StreamPartSize from
// base) fit in MaxParts parts.
func StreamCapacity(base int64) int64 {
	var sent int64
	for n := 0; n < MaxParts; n++ {
		sent += StreamPartSize(base, sent)
	}
	return sent
}
