"""What the HTTP apps (the AWS JSON API, the notebook proxy) share below them: request bodies."""
