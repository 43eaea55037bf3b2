package location

// post_action, as ngx_http_post_action: once the response is sent (or
// the request failed, or the client went away), the request itself is
// redirected to the post_action URI (arguments dropped) or named
// location (any value not starting with "/": "off" too, as in nginx),
// with its output dropped (nginx makes it an HTTP/0.9 header-only
// request). Its location's own post_action runs next, until none is left
// or the 10 URI changes are spent. The access log line shows the last
// URI, and the status of a failure on the way (nginx's err_status).

func (x *exchange) runPostAction() {
	// The test of most requests (none set) is inlined where it is asked.
	if len(x.conf().postAction) != 0 {
		x.postAction()
	}
}

func (x *exchange) postAction() {
	if x.isSub() || x.c.Hijacked() {
		return
	}
	main, mainReq, mainConn := x.c, x.req, x.st.Conn
	sc := main.NewSub(mainReq.URI, mainReq.Args, mainReq.HasArgs, dropOutput)
	defer sc.Release()
	req := sc.Request()
	req.Method, req.MethodCode = mainReq.Method, mainReq.MethodCode
	req.ContentLength, req.Chunked = mainReq.ContentLength, mainReq.Chunked
	req.Internal, req.RawStale = mainReq.Internal, mainReq.RawStale
	x.c, x.req, x.st.Req, x.st.Conn = sc, req, req, sc
	status, stStatus, errStatus := x.status, x.st.Status, x.st.ErrStatus
	for first := true; ; first = false {
		uri := x.conf().postAction
		if len(uri) == 0 || !first && x.uriChanges == 0 {
			break
		}
		var rc int
		if uri[0] == '/' {
			rc = x.internalRedirect(uri, false)
		} else {
			rc = x.namedRedirect(uri)
		}
		if rc != 0 {
			x.special(rc)
			status, stStatus, errStatus = rc, rc, rc
		}
		sc.Finish()
	}
	x.c, x.req, x.st.Req, x.st.Conn = main, mainReq, mainReq, mainConn
	mainReq.URI = req.URI // the log's $uri; x owns the buffer
	x.status, x.st.Status, x.st.ErrStatus = status, stStatus, errStatus
}
