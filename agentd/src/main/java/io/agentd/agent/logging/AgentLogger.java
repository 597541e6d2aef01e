package io.agentd.agent.logging;

import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/** A named logger: checks the level, formats the slf4j message, hands the line to {@link LogOutput}. */
final class AgentLogger extends LegacyAbstractLogger {
    private static final long serialVersionUID = 1L;

    AgentLogger(String name) {
        this.name = name;
    }

    @Override
    public boolean isTraceEnabled() {
        return LogOutput.enabled(Level.TRACE);
    }

    @Override
    public boolean isDebugEnabled() {
        return LogOutput.enabled(Level.DEBUG);
    }

    @Override
    public boolean isInfoEnabled() {
        return LogOutput.enabled(Level.INFO);
    }

    @Override
    public boolean isWarnEnabled() {
        return LogOutput.enabled(Level.WARN);
    }

    @Override
    public boolean isErrorEnabled() {
        return LogOutput.enabled(Level.ERROR);
    }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null; // no caller data is printed
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments,
            Throwable thrown) {
        String message = MessageFormatter.basicArrayFormat(pattern, arguments);
        LogOutput.write(LogLine.format(System.currentTimeMillis(), level, name, message, thrown));
    }
}
