-- Each model's latest rollout (docs/rollouts.md): its plan, where it stands and the current step's
-- evidence as JSON, saved on every tick so a restarted registry resumes it where it was.
CREATE TABLE rollouts (
    model      VARCHAR(128) PRIMARY KEY REFERENCES models(name),
    state      VARCHAR(16) NOT NULL,
    body_json  VARCHAR(262144) NOT NULL,
    updated_at BIGINT NOT NULL
);
