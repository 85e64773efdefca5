-- AlterTable
ALTER TABLE "User" ADD COLUMN     "admin" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "minAcr" TEXT;

-- AlterTable
ALTER TABLE "SsoSession" ADD COLUMN     "passwordAt" TIMESTAMP(3),
ADD COLUMN     "secondFactorAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "LogoutNotification" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "claimedBy" TEXT,
ADD COLUMN     "claimedUntil" TIMESTAMP(3),
ADD COLUMN     "deliveredAt" TIMESTAMP(3),
ADD COLUMN     "failedAt" TIMESTAMP(3),
ADD COLUMN     "lastAttemptAt" TIMESTAMP(3),
ADD COLUMN     "lastError" TEXT,
ADD COLUMN     "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "LogoutNotification_state_nextAttemptAt_idx" ON "LogoutNotification"("state", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "LogoutNotification_clientId_state_idx" ON "LogoutNotification"("clientId", "state");
