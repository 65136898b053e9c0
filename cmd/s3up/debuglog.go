package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/logging"
)

// Without --debug the SDK's logger is discarded (s3up.ClientConfig.Logger
// nil): a cron log holds only s3up's own lines. With --debug the SDK logs
// its warnings, every retry and every request's headers to stderr.
const sdkLogMode = aws.LogRetries | aws.LogRequest

// sdkLogger writes SDK log lines to w, each prefixed like the SDK's own
// standard logger ("SDK 2006/01/02 15:04:05 WARN ..."), with credentials
// redacted: a request dump carries the Authorization header and, with
// temporary credentials, the session token, and debug output ends up in
// logs and bug reports.
type sdkLogger struct {
	mu sync.Mutex
	w  io.Writer
}

func newSDKLogger(w io.Writer) *sdkLogger { return &sdkLogger{w: w} }

// secretHeader matches a header line whose value is a credential.
var secretHeader = regexp.MustCompile(`(?im)^((?:authorization|x-amz-security-token|x-amz-server-side-encryption-customer-key(?:-md5)?|x-amz-copy-source-server-side-encryption-customer-key(?:-md5)?):[ \t]*).*$`)

func redactSecrets(s string) string {
	return secretHeader.ReplaceAllString(s, "${1}REDACTED")
}

func (l *sdkLogger) Logf(class logging.Classification, format string, v ...any) {
	msg := strings.ReplaceAll(fmt.Sprintf(format, v...), "\r\n", "\n")
	msg = strings.TrimRight(redactSecrets(msg), "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "SDK %s %s %s\n", time.Now().Format("2006/01/02 15:04:05"), class, msg)
}
