package s3fake

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// Endpoint is the endpoint of a Client's options: no request ever goes
// there.
const Endpoint = "http://s3fake.invalid"

// Client returns an SDK client (*s3.Client) whose every operation the fake
// answers, for code that takes an *s3.Client rather than an interface. The
// answer is given at the start of the SDK's middleware stack (its Initialize
// step), so nothing of the SDK runs after: no serialisation, signing,
// retries or HTTP, as with the fake's own methods. An operation the fake
// does not implement fails. optFns change the client's options.
func (f *Fake) Client(optFns ...func(*s3.Options)) *s3.Client {
	o := s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(Endpoint),
		UsePathStyle: true,
		Credentials:  aws.AnonymousCredentials{},
		APIOptions:   []func(*middleware.Stack) error{f.answerFirst},
	}
	return s3.New(o, optFns...)
}

// answerFirst puts the fake's answer before every other middleware.
func (f *Fake) answerFirst(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("s3fake", func(ctx context.Context, in middleware.InitializeInput, _ middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, err := f.answer(ctx, in.Parameters)
		return middleware.InitializeOutput{Result: out}, middleware.Metadata{}, err
	}), middleware.Before)
}

// answer calls the fake's method for an operation's input.
func (f *Fake) answer(ctx context.Context, in any) (any, error) {
	switch in := in.(type) {
	case *s3.CreateMultipartUploadInput:
		return f.CreateMultipartUpload(ctx, in)
	case *s3.UploadPartInput:
		return f.UploadPart(ctx, in)
	case *s3.ListPartsInput:
		return f.ListParts(ctx, in)
	case *s3.CompleteMultipartUploadInput:
		return f.CompleteMultipartUpload(ctx, in)
	case *s3.AbortMultipartUploadInput:
		return f.AbortMultipartUpload(ctx, in)
	case *s3.ListMultipartUploadsInput:
		return f.ListMultipartUploads(ctx, in)
	case *s3.HeadObjectInput:
		return f.HeadObject(ctx, in)
	case *s3.GetObjectInput:
		return f.GetObject(ctx, in)
	case *s3.PutObjectInput:
		return f.PutObject(ctx, in)
	case *s3.ListObjectsV2Input:
		return f.ListObjectsV2(ctx, in)
	case *s3.DeleteObjectInput:
		return f.DeleteObject(ctx, in)
	case *s3.DeleteObjectsInput:
		return f.DeleteObjects(ctx, in)
	}
	return nil, APIError("", 501, "NotImplemented", fmt.Sprintf("s3fake does not implement %T", in))
}
