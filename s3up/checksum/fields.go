package checksum

import (
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Fields points at the five flexible-checksum fields of one SDK struct
// (ChecksumCRC32C, ChecksumCRC32, ChecksumCRC64NVME, ChecksumSHA256,
// ChecksumSHA1), in the order of the algorithm table. Every request and
// answer carries them under the same names; one adapter per struct replaces
// a switch per algorithm and operation.
type Fields [5]**string

// Get returns the value for a ("" if unset or a is not a flexible checksum).
func (f Fields) Get(a Algorithm) string {
	i := table[a].index
	if i < 0 || a == "" || *f[i] == nil {
		return ""
	}
	return **f[i]
}

// Set stores v for a; "" or a non-flexible algorithm leaves f unchanged.
func (f Fields) Set(a Algorithm, v string) {
	i := table[a].index
	if i < 0 || a == "" || v == "" {
		return
	}
	*f[i] = &v
}

// Any returns the first value set, for answers whose algorithm is unknown.
func (f Fields) Any() (Algorithm, string) {
	for _, a := range All {
		if v := f.Get(a); v != "" {
			return a, v
		}
	}
	return "", ""
}

// OfUploadPart and the functions below adapt each SDK struct.
func OfUploadPart(in *s3.UploadPartInput) Fields {
	return Fields{&in.ChecksumCRC32C, &in.ChecksumCRC32, &in.ChecksumCRC64NVME, &in.ChecksumSHA256, &in.ChecksumSHA1}
}

func OfPutObject(in *s3.PutObjectInput) Fields {
	return Fields{&in.ChecksumCRC32C, &in.ChecksumCRC32, &in.ChecksumCRC64NVME, &in.ChecksumSHA256, &in.ChecksumSHA1}
}

func OfCompletedPart(p *types.CompletedPart) Fields {
	return Fields{&p.ChecksumCRC32C, &p.ChecksumCRC32, &p.ChecksumCRC64NVME, &p.ChecksumSHA256, &p.ChecksumSHA1}
}

func OfComplete(in *s3.CompleteMultipartUploadInput) Fields {
	return Fields{&in.ChecksumCRC32C, &in.ChecksumCRC32, &in.ChecksumCRC64NVME, &in.ChecksumSHA256, &in.ChecksumSHA1}
}

func OfUploadPartOutput(o *s3.UploadPartOutput) Fields {
	return Fields{&o.ChecksumCRC32C, &o.ChecksumCRC32, &o.ChecksumCRC64NVME, &o.ChecksumSHA256, &o.ChecksumSHA1}
}

func OfPutObjectOutput(o *s3.PutObjectOutput) Fields {
	return Fields{&o.ChecksumCRC32C, &o.ChecksumCRC32, &o.ChecksumCRC64NVME, &o.ChecksumSHA256, &o.ChecksumSHA1}
}

func OfCompleteOutput(o *s3.CompleteMultipartUploadOutput) Fields {
	return Fields{&o.ChecksumCRC32C, &o.ChecksumCRC32, &o.ChecksumCRC64NVME, &o.ChecksumSHA256, &o.ChecksumSHA1}
}

func OfHead(o *s3.HeadObjectOutput) Fields {
	return Fields{&o.ChecksumCRC32C, &o.ChecksumCRC32, &o.ChecksumCRC64NVME, &o.ChecksumSHA256, &o.ChecksumSHA1}
}

func OfListedPart(p *types.Part) Fields {
	return Fields{&p.ChecksumCRC32C, &p.ChecksumCRC32, &p.ChecksumCRC64NVME, &p.ChecksumSHA256, &p.ChecksumSHA1}
}
