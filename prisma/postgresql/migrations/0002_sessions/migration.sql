-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "admin" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "SsoSession" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "lastSeenAt" TIMESTAMP(3) NOT NULL,
    "idleExpiresAt" TIMESTAMP(3) NOT NULL,
    "absoluteExpiresAt" TIMESTAMP(3) NOT NULL,
    "ipCreated" TEXT,
    "ipLastSeen" TEXT,
    "userAgent" TEXT,
    "deviceLabel" TEXT NOT NULL,
    "amr" TEXT NOT NULL,
    "acr" TEXT,
    "authTime" TIMESTAMP(3),
    "remember" BOOLEAN NOT NULL,
    "endedAt" TIMESTAMP(3),
    "endReason" TEXT,

    CONSTRAINT "SsoSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SsoSessionClient" (
    "sessionId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "sid" TEXT NOT NULL,
    "grantId" TEXT,
    "firstSeenAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SsoSessionClient_pkey" PRIMARY KEY ("sessionId","clientId")
);

-- CreateTable
CREATE TABLE "LogoutNotification" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "sid" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LogoutNotification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "type" TEXT NOT NULL,
    "actorType" TEXT NOT NULL,
    "actorId" TEXT,
    "userId" TEXT,
    "sessionId" TEXT,
    "clientId" TEXT,
    "ip" TEXT,
    "userAgent" TEXT,
    "details" TEXT,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SsoSession_userId_endedAt_idx" ON "SsoSession"("userId", "endedAt");

-- CreateIndex
CREATE INDEX "SsoSession_endedAt_idleExpiresAt_idx" ON "SsoSession"("endedAt", "idleExpiresAt");

-- CreateIndex
CREATE INDEX "SsoSession_endedAt_absoluteExpiresAt_idx" ON "SsoSession"("endedAt", "absoluteExpiresAt");

-- CreateIndex
CREATE INDEX "SsoSessionClient_grantId_idx" ON "SsoSessionClient"("grantId");

-- CreateIndex
CREATE INDEX "LogoutNotification_state_createdAt_idx" ON "LogoutNotification"("state", "createdAt");

-- CreateIndex
CREATE INDEX "LogoutNotification_sessionId_idx" ON "LogoutNotification"("sessionId");

-- CreateIndex
CREATE INDEX "AuditEvent_userId_at_idx" ON "AuditEvent"("userId", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");

-- CreateIndex
CREATE INDEX "AuditEvent_sessionId_idx" ON "AuditEvent"("sessionId");

-- AddForeignKey
ALTER TABLE "SsoSessionClient" ADD CONSTRAINT "SsoSessionClient_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "SsoSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;
