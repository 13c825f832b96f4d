"""The job engine: accepting, submitting, tracking, completing and delivering video jobs."""
